package io.onnxslanc.check;

import io.onnxslanc.check.ProtoBuilders;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;

import java.util.List;

import static io.onnxslanc.check.ProtoBuilders.floatAttr;
import static io.onnxslanc.check.ProtoBuilders.intsAttr;
import static io.onnxslanc.check.ProtoBuilders.node;

/** Tiny hand-built graphs for the runtime-check tests. */
public final class TestModels {
    private TestModels() {}

    public static final int F = DataType.FLOAT_VALUE;
    public static final int H = DataType.FLOAT16_VALUE;

    public static ModelProto model(GraphProto.Builder g, long opset) {
        return ModelProto.newBuilder().setIrVersion(opset >= 23 ? 11 : 8).setProducerName("onnx-slanc-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                .setGraph(g.setName("test")).build();
    }

    /** y = x + x, x: float[2,3]. */
    public static ModelProto addSelf() {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, 2, 3)).addOutput(ProtoBuilders.valueInfo("y", F, 2, 3))
                .addNode(node("Add", "add", List.of("x", "x"), List.of("y")));
        return model(g, 17);
    }

    /** x -> Cast(FLOAT16) -> Cast(FLOAT) -> y over a float[n] vector. */
    public static ModelProto castPair(int n) {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, n)).addOutput(ProtoBuilders.valueInfo("y", F, n))
                .addNode(node("Cast", "to16", List.of("x"), List.of("h"), ProtoBuilders.intAttr("to", H)))
                .addNode(node("Cast", "to32", List.of("h"), List.of("y"), ProtoBuilders.intAttr("to", F)));
        return model(g, 17);
    }

    /**
     * Decomposed RMSNorm over the last axis as exporters write it: x^2 (Pow) -> ReduceMean -> +eps -> Sqrt -> x / rms * gamma.
     * elemType FLOAT or FLOAT16 (then every tensor, constant and the graph I/O are FP16).
     */
    public static ModelProto decomposedRmsNorm(int rows, int d, float eps, float[] gamma, int elemType) {
        boolean half = elemType == H;
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", elemType, rows, d)).addOutput(ProtoBuilders.valueInfo("y", elemType, rows, d));
        g.addInitializer(half ? ProtoBuilders.halfTensor("two", new long[0], new float[]{2f}) : ProtoBuilders.floatTensor("two", new long[0], new float[]{2f}));
        g.addInitializer(half ? ProtoBuilders.halfTensor("eps", new long[0], new float[]{eps}) : ProtoBuilders.floatTensor("eps", new long[0], new float[]{eps}));
        g.addInitializer(half ? ProtoBuilders.halfTensor("gamma", new long[]{d}, gamma) : ProtoBuilders.floatTensor("gamma", new long[]{d}, gamma));
        List<NodeProto> nodes = List.of(
                node("Pow", "pow", List.of("x", "two"), List.of("sq")),
                node("ReduceMean", "mean", List.of("sq"), List.of("ms"), intsAttr("axes", -1), ProtoBuilders.intAttr("keepdims", 1)),
                node("Add", "addeps", List.of("ms", "eps"), List.of("mse")),
                node("Sqrt", "sqrt", List.of("mse"), List.of("rms")),
                node("Div", "div", List.of("x", "rms"), List.of("xn")),
                node("Mul", "scale", List.of("xn", "gamma"), List.of("y")));
        g.addAllNode(nodes);
        return model(g, 17);
    }

    /** A single fused norm node over the last axis: LayerNormalization (with bias), SimplifiedLayerNormalization or RMSNormalization. */
    public static ModelProto fusedNorm(String op, int rows, int d, float eps, float[] gamma, float[] beta) {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, rows, d)).addOutput(ProtoBuilders.valueInfo("y", F, rows, d))
                .addInitializer(ProtoBuilders.floatTensor("gamma", new long[]{d}, gamma));
        List<String> inputs = List.of("x", "gamma");
        if (beta != null) {
            g.addInitializer(ProtoBuilders.floatTensor("beta", new long[]{d}, beta));
            inputs = List.of("x", "gamma", "beta");
        }
        g.addNode(node(op, "norm", inputs, List.of("y"), ProtoBuilders.intAttr("axis", -1), floatAttr("epsilon", eps)));
        return model(g, op.equals("RMSNormalization") ? 23 : 17);
    }

    public static float fp16(float v) {
        return ai.onnxruntime.platform.Fp16Conversions.fp16ToFloat(ai.onnxruntime.platform.Fp16Conversions.floatToFp16(v));
    }

    public static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /**
     * A toy language model: input_ids [1, T] -> Gather(embedding [V, d]) -> MatMul(W [d, V]) -> (+ bias [V]) -> logits.
     * Weights are seeded N(0, 1) / sqrt(d); bias null for none.
     */
    public static ModelProto tinyLm(int vocab, int d, long seed, float[] bias, String outputName) {
        java.util.Random r = new java.util.Random(seed);
        float[] emb = new float[vocab * d], w = new float[d * vocab];
        for (int i = 0; i < emb.length; i++) emb[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() / Math.sqrt(d));
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("input_ids", DataType.INT64_VALUE, 1, -1))
                .addOutput(ProtoBuilders.valueInfo(outputName, F, 1, -1, vocab))
                .addInitializer(ProtoBuilders.floatTensor("embedding", new long[]{vocab, d}, emb))
                .addInitializer(ProtoBuilders.floatTensor("w", new long[]{d, vocab}, w))
                .addNode(node("Gather", "embed", List.of("embedding", "input_ids"), List.of("h")));
        if (bias == null) {
            g.addNode(node("MatMul", "head", List.of("h", "w"), List.of(outputName)));
        } else {
            g.addInitializer(ProtoBuilders.floatTensor("bias", new long[]{vocab}, bias));
            g.addNode(node("MatMul", "head", List.of("h", "w"), List.of("raw")));
            g.addNode(node("Add", "addbias", List.of("raw", "bias"), List.of(outputName)));
        }
        return model(g, 17);
    }
}
