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

    static ValueInfoProto info(String name, int elemType, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("n" + s.getDimCount())
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(s))).build();
    }

    /** A float32 tensor with seeded values in [-1, 1) (raw little-endian data). */
    static TensorProto floats(String name, long seed, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        java.util.Random r = new java.util.Random(seed);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(2 * r.nextFloat() - 1);
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(1)
                .setRawData(com.google.protobuf.ByteString.copyFrom(b.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    static Path write(Path dir, String file, GraphProto g) throws IOException {
        Path p = dir.resolve(file);
        Files.write(p, model(g).toByteArray());
        return p;
    }

    /** y = Relu(x W), no norm anywhere: x [2, 8], W [8, 8]. */
    static Path withoutNorms(Path dir) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("no-norms")
                .addNode(node("MatMul", "mm", new String[] {"x", "W"}, "h"))
                .addNode(node("Relu", "relu", new String[] {"h"}, "y"))
                .addInitializer(floats("W", 1, 8, 8)).addInput(floatInfo("x", 2, 8)).addOutput(floatInfo("y", 2, 8)).build();
        return write(dir, "no-norms.onnx", g);
    }

    /**
     * Two LayerNormalizations with a MatMul between them and no residual Add: the first is the first norm
     * (s = 1), the second's input is a MatMul by a graph input W, which is no SLaNC block (with W an initializer it
     * would be a projection of the first norm's output, a block since the q_norm / k_norm formula).
     */
    static Path unrecognisedBlock(Path dir) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("no-residual")
                .addNode(layerNorm("ln1", "x", "g1", "b1", "n1"))
                .addNode(node("MatMul", "mm", new String[] {"n1", "W"}, "h"))
                .addNode(layerNorm("ln2", "h", "g2", "b2", "y"))
                .addInitializer(floats("g1", 2, 8)).addInitializer(floats("b1", 3, 8))
                .addInitializer(floats("g2", 5, 8)).addInitializer(floats("b2", 6, 8))
                .addInput(floatInfo("x", 2, 8)).addInput(floatInfo("W", 8, 8)).addOutput(floatInfo("y", 2, 8)).build();
        return write(dir, "no-residual.onnx", g);
    }

    private static NodeProto layerNorm(String name, String x, String gamma, String beta, String y) {
        return node("LayerNormalization", name, new String[] {x, gamma, beta}, y).toBuilder()
                .addAttribute(io.onnxslanc.proto.Onnx.AttributeProto.newBuilder().setName("axis").setI(-1)
                        .setType(io.onnxslanc.proto.Onnx.AttributeProto.AttributeType.INT))
                .addAttribute(io.onnxslanc.proto.Onnx.AttributeProto.newBuilder().setName("epsilon").setF(1e-5f)
                        .setType(io.onnxslanc.proto.Onnx.AttributeProto.AttributeType.FLOAT)).build();
    }

    /** y = Relu(x): the graph output says float16, the value_info entry of y float32. */
    static Path outputTypeDisagreesWithValueInfo(Path dir) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("mismatch")
                .addNode(node("Relu", "relu", new String[] {"x"}, "y"))
                .addValueInfo(floatInfo("y", 4))
                .addInput(floatInfo("x", 4)).addOutput(info("y", 10, 4)).build();
        return write(dir, "mismatch.onnx", g);
    }

    /** y = x + w where initializer w has data_type 99, which ONNX does not define. */
    static Path unknownDataType(Path dir) throws IOException {
        TensorProto w = floats("w", 7, 4).toBuilder().setDataType(99).build();
        GraphProto g = GraphProto.newBuilder().setName("dtype99")
                .addNode(node("Add", "add", new String[] {"x", "w"}, "y")).addInitializer(w)
                .addInput(floatInfo("x", 4)).addOutput(floatInfo("y", 4)).build();
        return write(dir, "dtype99.onnx", g);
    }

    /**
     * A toy causal LM: input_ids [1, n] -> Gather(embedding [vocab, 8]) -> MatMul(head [8, vocab]) -> logits
     * [1, n, vocab]. With {@code extraInput}, also a float input of that name added to the hidden state.
     */
    static Path tinyLm(Path dir, String file, int vocab, String extraInput) throws IOException {
        GraphProto.Builder g = GraphProto.newBuilder().setName("tiny-lm")
                .addInitializer(floats("embedding", 8, vocab, 8)).addInitializer(floats("head", 9, 8, vocab))
                .addNode(node("Gather", "embed", new String[] {"embedding", "input_ids"}, "h"))
                .addInput(info("input_ids", 7, 1, -1)).addOutput(info("logits", 1, 1, -1, vocab));
        if (extraInput == null) {
            g.addNode(node("MatMul", "head", new String[] {"h", "head"}, "logits"));
        } else {
            g.addInput(info(extraInput, 1, 1, -1, 8));
            g.addNode(node("Add", "mix", new String[] {"h", extraInput}, "h2"));
            g.addNode(node("MatMul", "head", new String[] {"h2", "head"}, "logits"));
        }
        return write(dir, file, g.build());
    }
}
