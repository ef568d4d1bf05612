package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import io.onnxslanc.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime's native logger writes to the process's stderr file descriptor, not to System.err, so only a child
 * JVM shows it: a failing run prints one {@code error:} line and no {@code [E:onnxruntime} line, and {@code --debug}
 * lets ORT's own lines through (which shows the test would see them).
 */
class NativeLogTest {

    record Child(int exit, String err) {
    }

    static Child runChild(Path dir, String... args) throws Exception {
        Process p = ChildJvm.of(List.of(), Main.class, List.of(args)).directory(dir.toFile()).redirectOutput(dir.resolve("child.out").toFile())
                .redirectError(dir.resolve("child.err").toFile()).start();
        int exit = p.waitFor();
        return new Child(exit, java.nio.file.Files.readString(dir.resolve("child.err"), StandardCharsets.UTF_8));
    }

    @Test
    void aFailingRunPrintsOnlyTheToolsErrorLine(@TempDir Path dir) throws Exception {
        Path ref = InputShapeModels.batchMustBeOne(dir);
        Path cand = dir.resolve("cand.onnx");
        java.nio.file.Files.copy(ref, cand);
        Child quiet = runChild(dir, "check", "--dim", "N=2", "--samples", "1", ref.toString(), cand.toString());
        assertEquals(1, quiet.exit(), quiet.err());
        assertEquals(1, quiet.err().strip().lines().count(), quiet.err());
        assertTrue(quiet.err().startsWith("error: ") && quiet.err().contains("Concat"), quiet.err());
        assertTrue(!quiet.err().contains("[E:onnxruntime"), quiet.err());

        Child debug = runChild(dir, "check", "--debug", "--dim", "N=2", "--samples", "1", ref.toString(), cand.toString());
        assertEquals(1, debug.exit(), debug.err());
        assertTrue(debug.err().contains("[E:onnxruntime"), "with --debug ORT's own line shows: " + debug.err());
    }
}
