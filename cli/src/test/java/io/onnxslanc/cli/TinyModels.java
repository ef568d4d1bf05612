package io.onnxslanc.cli;

import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small hand-built models for CLI tests. */
final class TinyModels {
    private TinyModels() {
    }

    static ValueInfoProto floatInfo(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    static NodeProto node(String op, String name, String[] in, String... out) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(name);
        for (String i : in) {
            b.addInput(i);
        }
        for (String o : out) {
            b.addOutput(o);
        }
        return b.build();
    }

    static ModelProto model(GraphProto g) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
    }

    /** y = Relu(x + w), w external in {@code dataName} at offset 0. */
    static Path withExternalWeight(Path dir, String dataName, int dataBytes) throws IOException {
        TensorProto w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(256)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(dataName))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue("1024")).build();
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addNode(node("Add", "add", new String[] {"x", "w"}, "s"))
                .addNode(node("Relu", "relu", new String[] {"s"}, "y"))
                .addInitializer(w).addInput(floatInfo("x", 256)).addOutput(floatInfo("y", 256)).build();
        Path model = dir.resolve("ext.onnx");
        Files.write(model, model(g).toByteArray());
        if (dataBytes >= 0) {
            Files.write(dir.resolve(dataName), new byte[dataBytes]);
        }
        return model;
    }

    /** Two nodes feeding each other: a -> b -> a. */
    static Path cyclic(Path dir) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("cyclic")
                .addNode(node("Add", "first", new String[] {"x", "t2"}, "t1"))
                .addNode(node("Relu", "second", new String[] {"t1"}, "t2"))
                .addInput(floatInfo("x", 4)).addOutput(floatInfo("t2", 4)).build();
        Path p = dir.resolve("cyclic.onnx");
        Files.write(p, model(g).toByteArray());
        return p;
    }

    static Path relu(Path dir) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("relu")
                .addNode(node("Relu", "relu", new String[] {"x"}, "y"))
                .addInput(floatInfo("x", 4)).addOutput(floatInfo("y", 4)).build();
        Path p = dir.resolve("relu.onnx");
        Files.write(p, model(g).toByteArray());
        return p;
    }
}
