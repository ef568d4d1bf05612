package io.onnxslanc.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Temps beside their target: hidden, usual permissions, renamed into place, and cleaned up at exit if left. */
class TempFilesTest {

    @Test
    void aTempIsHiddenBesideItsTargetWithTheUsualPermissions(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("model.onnx");
        Path tmp = TempFiles.beside(target);
        assertEquals(dir, tmp.getParent());
        assertTrue(tmp.getFileName().toString().startsWith(".model.onnx."), tmp.toString());
        assertEquals(Files.getPosixFilePermissions(Files.createFile(dir.resolve("ordinary"))),
                Files.getPosixFilePermissions(tmp));
    }

    @Test
    void leftoversAreDeletedButRenamedTempsAreNot(@TempDir Path dir) throws Exception {
        Path kept = dir.resolve("kept.onnx");
        Path renamed = TempFiles.beside(kept);
        Files.writeString(renamed, "model");
        TempFiles.moveIntoPlace(renamed, kept);
        Path abandoned = TempFiles.beside(dir.resolve("abandoned.onnx.data")); // as if the process were stopped

        TempFiles.deleteLeftovers(); // the shutdown hook's work

        assertFalse(Files.exists(abandoned));
        assertEquals("model", Files.readString(kept));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "only the renamed file");
        }
    }
}
