package io.onnxslanc.cli;

import io.onnxslanc.io.ModelFormatException;
import io.onnxslanc.io.TempFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where --verify writes OUT before it is judged: a hidden folder beside OUT holding a file of the same name (and its
 * data file, whose name the model records, so it must not change). Published by renames on the same file system;
 * deleted, with everything in it, when it is not published.
 */
final class StagedOutput implements AutoCloseable {
    private final Path folder;
    private final Path model;

    private StagedOutput(Path folder, Path model) {
        this.folder = folder;
        this.model = model;
    }

    static StagedOutput beside(Path out) {
        Path abs = out.toAbsolutePath();
        try {
            Path folder = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".verify-");
            return new StagedOutput(folder, folder.resolve(abs.getFileName()));
        } catch (IOException e) {
            throw new ModelFormatException(out, "cannot create a folder for the model under verification: " + e.getMessage(), e);
        }
    }

    /** The staged model file. */
    Path model() {
        return model;
    }

    /** A scratch file in the staging folder (e.g. the FP32 graph the emulation runs). */
    Path scratch(String name) {
        return folder.resolve(name);
    }

    /** Moves the staged model (and its data file, named {@code dataFileName}, when there is one) to {@code out}. */
    void publish(Path out, Path stagedData, Path outData) {
        try {
            if (stagedData != null && Files.exists(stagedData)) {
                TempFiles.moveIntoPlace(stagedData, outData); // the data first: the model is the file users look for
            }
            TempFiles.moveIntoPlace(model, out);
        } catch (IOException e) {
            throw new ModelFormatException(out, "cannot move the verified model into place: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        TempFiles.deleteTreeQuietly(folder);
    }
}
