package io.onnxslanc.check.model;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A model to open in ONNX Runtime: either a file that ORT loads itself (external data found beside it),
 * or an in-memory ModelProto (after a transform). An in-memory model that still references external data
 * carries the folder that holds it, which the session is told about.
 */
public record ModelSource(String label, Path path, ModelProto model, Path externalDataDir) {

    /** ORT reads the file itself; external data is resolved relative to it. */
    public static ModelSource file(Path path) {
        if (!Files.isRegularFile(path)) throw new IllegalArgumentException(path + ": no such model file");
        return new ModelSource(path.toString(), path, null, null);
    }

    /** An in-memory model, e.g. the result of a transform; it must not reference external data. */
    public static ModelSource of(String label, ModelProto model) {
        return new ModelSource(label, null, model, null);
    }

    /**
     * Parses the file once, external data left in its files (the session is told their folder): for callers that
     * read the graph and then run it, without copying the weights into memory.
     */
    public static ModelSource parsed(Path path) {
        if (!Files.isRegularFile(path)) throw new IllegalArgumentException(path + ": no such model file");
        Path dir = path.toAbsolutePath().getParent();
        return new ModelSource(path.toString(), path, parse(path), dir);
    }

    /** Parses the file and copies any external data into the tensors, so the model can be transformed in memory. */
    public static ModelSource read(Path path) {
        return new ModelSource(path.toString(), path, inlineExternalData(parse(path), path), null);
    }

    /**
     * The same origin with a transformed model, e.g. "model.onnx [fp16-storage]". External data the transform left
     * in place is still found in the original model's folder.
     */
    public ModelSource withModel(ModelProto transformed, String what) {
        Path dir = externalDataDir != null ? externalDataDir : path != null ? path.toAbsolutePath().getParent() : null;
        return new ModelSource(label + " [" + what + "]", null, transformed, dir);
    }

    /** The model as a ModelProto (parsed from the file when needed, external data left external). */
    public ModelProto proto() {
        return model != null ? model : parse(path);
    }

    public static ModelProto parse(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            CodedInputStream cin = CodedInputStream.newInstance(in);
            cin.setSizeLimit(Integer.MAX_VALUE);
            cin.setRecursionLimit(1000);
            return ModelProto.parseFrom(cin);
        } catch (IOException e) {
            throw new IllegalArgumentException(path + ": cannot read as an ONNX model (" + e.getMessage() + ")", e);
        }
    }

    /** Whether the tensor keeps its bytes in an external data file rather than in the model. */
    public static boolean isExternal(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
    }

    static ModelProto inlineExternalData(ModelProto m, Path modelPath) {
        boolean any = m.getGraph().getInitializerList().stream().anyMatch(ModelSource::isExternal);
        if (!any) return m;
        Path dir = modelPath.toAbsolutePath().getParent();
        GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (isExternal(t)) g.setInitializer(i, inline(t, dir, modelPath));
        }
        return m.toBuilder().setGraph(g).build();
    }

    private static TensorProto inline(TensorProto t, Path dir, Path modelPath) {
        String location = null;
        long offset = 0, length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = Long.parseLong(e.getValue());
                case "length" -> length = Long.parseLong(e.getValue());
                default -> { }
            }
        }
        if (location == null) throw new IllegalArgumentException(modelPath + ": tensor '" + t.getName() + "' has external data without a location");
        Path file = dir.resolve(location).normalize();
        if (!file.startsWith(dir))
            throw new IllegalArgumentException(modelPath + ": external data location '" + location + "' of tensor '" + t.getName() + "' leaves the model's folder");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long n = length >= 0 ? length : ch.size() - offset;
            if (n > Integer.MAX_VALUE - 16)
                throw new IllegalArgumentException(modelPath + ": tensor '" + t.getName() + "' (" + n + " bytes) is too large to transform in memory");
            ByteString data = ByteString.copyFrom(ch.map(FileChannel.MapMode.READ_ONLY, offset, n));
            return t.toBuilder().clearExternalData().clearDataLocation().setRawData(data).build();
        } catch (IOException e) {
            throw new UncheckedIOException(modelPath + ": cannot read external data '" + location + "' of tensor '" + t.getName() + "'", e);
        }
    }
}
