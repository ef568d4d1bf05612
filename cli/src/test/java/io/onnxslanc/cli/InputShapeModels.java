package io.onnxslanc.cli;

import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Path;

/** Synthetic models that take only some input shapes, as real exports do (issue 16). */
final class InputShapeModels {
    private InputShapeModels() {
    }

    /** A float input whose dims are numbers or symbol names. */
    static ValueInfoProto input(String name, Object... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            s.addDim(d instanceof String sym ? TensorShapeProto.Dimension.newBuilder().setDimParam(sym)
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    /** y = Concat(x [N, 200, 320], c [1, 1, 320], axis 1): runs only with N = 1. */
    static Path batchMustBeOne(Path dir) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("batch-one")
                .addNode(TinyModels.node("Concat", "concat", new String[] {"x", "c"}, "y").toBuilder()
                        .addAttribute(AttributeProto.newBuilder().setName("axis").setI(1).setType(AttributeProto.AttributeType.INT)))
                .addInitializer(TinyModels.floats("c", 3, 1, 1, 320))
                .addInput(input("x", "N", 200, 320)).addOutput(input("y", "N", 201, 320)).build();
        return TinyModels.write(dir, "batch-one.onnx", g);
    }

    /** y = x [1, T, 8] + w [1, 20, 8]: runs only with T = 20 (or 1, by broadcasting). */
    static Path sequenceMustBeTwenty(Path dir) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("seq-twenty")
                .addNode(TinyModels.node("Add", "add", new String[] {"x", "w"}, "y"))
                .addInitializer(TinyModels.floats("w", 4, 1, 20, 8))
                .addInput(input("x", 1, "T", 8)).addOutput(input("y", 1, 20, 8)).build();
        return TinyModels.write(dir, "seq-twenty.onnx", g);
    }
}
