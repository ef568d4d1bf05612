package io.onnxslanc.samples.llama;

import io.onnxslanc.io.TempFiles;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

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

    /** Name of the external data file next to a model, the one ModelWriter uses: "model.onnx" -> "model.onnx.data". */
    static String dataFileName(Path model) {
        return WriteOptions.defaults().dataFile(model).getFileName().toString();
    }

    static void writeAtomically(ModelProto model, Path out) throws IOException {
        Path tmp = writeTemporary(model, out);
        try {
            TempFiles.moveIntoPlace(tmp, out);
        } catch (IOException | RuntimeException e) {
            TempFiles.deleteQuietly(tmp);
            throw e;
        }
    }

    /**
     * Streams the initializers into out + ".data" and writes the model. Both files are complete as
     * temporaries before either is renamed into place (data first, then the model that refers to it).
     */
    static void writeWithExternalData(Path out, ModelBuilder builder) throws IOException {
        Path dir = folder(out);
        Path dataOut = dir.resolve(dataFileName(out));
        Path dataTmp = TempFiles.beside(dataOut);
        Path modelTmp = null;
        try {
            ModelProto model;
            try (ExternalDataWriter data = new ExternalDataWriter(dataTmp, dataOut.getFileName().toString())) {
                model = builder.build(data);
                data.force();
            }
            modelTmp = writeTemporary(model, out);
            TempFiles.moveIntoPlace(dataTmp, dataOut);
            TempFiles.moveIntoPlace(modelTmp, out);
        } catch (IOException | RuntimeException | Error e) {
            TempFiles.deleteQuietly(dataTmp);
            TempFiles.deleteQuietly(modelTmp);
            throw e;
        }
    }

    private static Path writeTemporary(ModelProto model, Path out) throws IOException {
        if (model.getSerializedSize() < 0) {
            throw new IOException(out + ": model exceeds the 2 GiB protobuf limit; write it with external data");
        }
        folder(out);
        Path tmp = TempFiles.beside(out);
        try (OutputStream os = Files.newOutputStream(tmp, StandardOpenOption.WRITE)) {
            model.writeTo(os);
        } catch (IOException | RuntimeException e) {
            TempFiles.deleteQuietly(tmp);
            throw e;
        }
        return tmp;
    }

    private static Path folder(Path out) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        return dir;
    }
}
