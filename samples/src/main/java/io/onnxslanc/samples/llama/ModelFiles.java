package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes models through temporary files in the target folder and renames them into place, so that
 * a failure never leaves a partial model behind.
 */
final class ModelFiles {

    /** Builds a model whose initializers go to the given store. */
    @FunctionalInterface
    interface ModelBuilder {
        ModelProto build(InitializerStore store) throws IOException;
    }

    private ModelFiles() {}

    /** Name of the external data file next to a model: "model.onnx" -> "model.onnx.data". */
    static String dataFileName(Path model) {
        return model.getFileName() + ".data";
    }

    static void writeAtomically(ModelProto model, Path out) throws IOException {
        if (model.getSerializedSize() < 0) {
            throw new IOException(out + ": model exceeds the 2 GiB protobuf limit; write it with external data");
        }
        Path dir = folder(out);
        Path tmp = Files.createTempFile(dir, "." + out.getFileName(), ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                model.writeTo(os);
            }
            moveIntoPlace(tmp, out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Streams the initializers into out + ".data" (through a temporary file) and writes the model. */
    static void writeWithExternalData(Path out, ModelBuilder builder) throws IOException {
        Path dir = folder(out);
        Path dataOut = dir.resolve(dataFileName(out));
        Path dataTmp = Files.createTempFile(dir, "." + dataOut.getFileName(), ".tmp");
        try {
            ModelProto model;
            try (ExternalDataWriter data = new ExternalDataWriter(dataTmp, dataOut.getFileName().toString())) {
                model = builder.build(data);
                data.force();
            }
            moveIntoPlace(dataTmp, dataOut);
            writeAtomically(model, out);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(dataTmp);
            throw e;
        }
    }

    private static Path folder(Path out) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        return dir;
    }

    private static void moveIntoPlace(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
