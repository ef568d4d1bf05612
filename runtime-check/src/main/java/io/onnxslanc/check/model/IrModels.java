package io.onnxslanc.check.model;

import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.TempFiles;
import io.onnxslanc.ir.Model;
import io.onnxslanc.proto.Onnx.ModelProto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The bridge between ONNX Runtime, which takes a ModelProto, and the rewriter's IR, where the runtime checks edit
 * models (emulations, probe taps): read with the rewriter's reader, written back with its writer.
 */
public final class IrModels {
    private IrModels() {}

    /** The IR of an in-memory model; external data it references resolves from {@code origin}'s folder. */
    public static Model read(ModelProto model, Path origin) {
        return ModelReader.fromProto(model, origin != null ? origin : Path.of("in-memory model.onnx"));
    }

    /** The model as a ModelProto with every weight inline (written by the rewriter's writer, parsed back). */
    public static ModelProto toProto(Model model) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("slanc-ir");
            Path file = dir.resolve("model.onnx");
            ModelWriter.write(model, file);
            return ModelSource.read(file).model();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the transformed model to a temporary folder", e);
        } finally {
            if (dir != null) TempFiles.deleteTreeQuietly(dir);
        }
    }
}
