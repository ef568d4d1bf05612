package io.onnxslanc.check.emulate;

import static io.onnxslanc.check.TestModels.F;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.ProtoBuilders;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The emulations inside If branches, as in a merged decoder (synthetic model): the then-branch holds a decomposed
 * RMSNorm, the else-branch a fused LayerNormalization, both reading the outer graph's x and the shared gamma.
 * References are float64 re-implementations of the norms, and ORT on the unmodified model.
 */
class SubgraphEmulationTest {
    private static final int D = 64;
    private static final double THRESHOLD = Math.sqrt(65504.0 / D); // RMS above which d squares sum past FP16 max
    private static final float EPS = 1e-5f;

    /** y = If(c) then RMSNorm(x) * gamma else LayerNorm(x) * gamma + beta; x: float[1, D]. */
    static ModelProto ifWithNorms() {
        GraphProto then = GraphProto.newBuilder().setName("then").addOutput(ProtoBuilders.valueInfo("t", F, 1, D))
                .addInitializer(ProtoBuilders.floatTensor("two", new long[0], new float[]{2f}))
                .addInitializer(ProtoBuilders.floatTensor("eps", new long[0], new float[]{EPS}))
                .addAllNode(List.of(
                        ProtoBuilders.node("Pow", "pow", List.of("x", "two"), List.of("sq")),
                        ProtoBuilders.node("ReduceMean", "mean", List.of("sq"), List.of("ms"), ProtoBuilders.intsAttr("axes", -1), ProtoBuilders.intAttr("keepdims", 1)),
                        ProtoBuilders.node("Add", "addeps", List.of("ms", "eps"), List.of("mse")),
                        ProtoBuilders.node("Sqrt", "sqrt", List.of("mse"), List.of("rms")),
                        ProtoBuilders.node("Div", "div", List.of("x", "rms"), List.of("xn")),
                        ProtoBuilders.node("Mul", "scale", List.of("xn", "gamma"), List.of("t")))).build();
        GraphProto otherwise = GraphProto.newBuilder().setName("else").addOutput(ProtoBuilders.valueInfo("e", F, 1, D))
                .addNode(ProtoBuilders.node("LayerNormalization", "ln", List.of("x", "gamma", "beta"), List.of("e"),
                        ProtoBuilders.intAttr("axis", -1), ProtoBuilders.floatAttr("epsilon", EPS))).build();
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, 1, D)).addInput(ProtoBuilders.valueInfo("c", DataType.BOOL_VALUE))
                .addOutput(ProtoBuilders.valueInfo("y", F, 1, D))
                .addInitializer(ProtoBuilders.floatTensor("gamma", new long[]{D}, gamma()))
                .addInitializer(ProtoBuilders.floatTensor("beta", new long[]{D}, TestModels.filled(D, 0.25f)))
                .addNode(ProtoBuilders.node("If", "branchy", List.of("c"), List.of("y"),
                        graphAttr("then_branch", then), graphAttr("else_branch", otherwise)));
        return TestModels.model(g, 17);
    }

    private static AttributeProto graphAttr(String name, GraphProto body) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH).setG(body).build();
    }

    private static float[] gamma() {
        float[] g = new float[D];
        for (int j = 0; j < D; j++) g[j] = 0.5f + j / 64f; // not FP16 values at every j: the rounding shows
        return g;
    }

    private static Map<String, TensorData> feed(float[] x, boolean then) {
        return Map.of("x", TensorData.ofFloats(new long[]{1, D}, x), "c", TensorData.ofLongs(new long[0], new long[]{then ? 1 : 0}));
    }

    private static float[] runEmulated(Emulation.Mode mode, float[] x, boolean then) {
        try (Emulation.EmulatedSession s = Emulation.open(ModelSource.of("if.onnx", ifWithNorms()), mode, SessionFactory.cpu(), true)) {
            assertTrue(s.casts().complete(), s.casts().summary());
            return Runs.run(s.opened().session(), "emulated", feed(x, then)).get("y").floats();
        }
    }

    private static float[] runPlain(float[] x, boolean then) {
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.of("if.onnx", ifWithNorms()))) {
            return Runs.run(s.session(), "plain", feed(x, then)).get("y").floats();
        }
    }

    /** float64 norm of one row: RMSNorm * gamma, or LayerNorm * gamma + beta. */
    private static double[] reference(float[] x, boolean centered) {
        float[] gamma = gamma();
        double mean = 0;
        if (centered) {
            for (float v : x) mean += v;
            mean /= D;
        }
        double ss = 0;
        for (float v : x) ss += (v - mean) * (v - mean);
        double rms = Math.sqrt(ss / D + EPS);
        double[] y = new double[D];
        for (int j = 0; j < D; j++) y[j] = (x[j] - mean) / rms * gamma[j] + (centered ? 0.25 : 0);
        return y;
    }

    private static float[] alternating(double a) {
        float[] x = new float[D];
        for (int j = 0; j < D; j++) x[j] = (float) (j % 2 == 0 ? a : -a);
        return x;
    }

    @Test
    void castsGoInsideBothBranchesAndTheOuterGammaIsRounded() {
        ModelProto e = Emulation.apply(ifWithNorms(), Emulation.Mode.FP16_NAIVE_NORMS);
        NodeProto ifNode = e.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("If")).findFirst().orElseThrow();
        for (AttributeProto branch : ifNode.getAttributeList()) {
            List<NodeProto> nodes = branch.getG().getNodeList();
            assertTrue(nodes.stream().filter(n -> n.getName().startsWith(CastPairs.PREFIX)).count() >= 10,
                    branch.getName() + ": a round trip after each step of the norm");
            assertTrue(nodes.stream().noneMatch(n -> n.getOpType().equals("ReduceMean") || n.getOpType().equals("LayerNormalization")),
                    branch.getName() + ": the norm is naive (ReduceSum / d)");
        }
        float[] g = ProtoBuilders.floats(e.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("gamma")).findFirst().orElseThrow());
        float[] want = gamma();
        for (int j = 0; j < D; j++) assertEquals(TestModels.fp16(want[j]), g[j], 0f);
        assertEquals(List.of("y"), e.getGraph().getOutputList().stream().map(v -> v.getName()).toList());
    }

    @Test
    void storageMatchesTheFloat64NormsWithinFp16RoundingOnBothBranches() {
        Random r = new Random(5);
        float[] x = new float[D];
        for (int j = 0; j < D; j++) x[j] = (float) (3 * r.nextGaussian() + 1);
        for (boolean then : new boolean[]{true, false}) {
            double[] ref = reference(x, !then);
            float[] emulated = runEmulated(Emulation.Mode.FP16_STORAGE, x, then);
            float[] plain = runPlain(x, then);
            boolean differs = false;
            for (int j = 0; j < D; j++) {
                assertEquals(ref[j], plain[j], 1e-5 * Math.abs(ref[j]) + 1e-5, "plain FP32, branch " + then);
                assertEquals(ref[j], emulated[j], 4e-3 * Math.abs(ref[j]) + 2e-3, "fp16-storage, branch " + then);
                assertEquals(TestModels.fp16(emulated[j]), emulated[j], 0f, "the branch output holds FP16 values");
                differs |= emulated[j] != plain[j];
            }
            assertTrue(differs, "the emulation rounds inside branch " + then);
        }
    }

    @Test
    void squaresOverflowInTheDecomposedBranchUnlessTheNormIsFp32() {
        float[] x = alternating(300); // x^2 = 90000 is inf in FP16
        double[] ref = reference(x, false);
        float[] storage = runEmulated(Emulation.Mode.FP16_STORAGE, x, true);
        float[] fp32Norms = runEmulated(Emulation.Mode.FP16_FP32_NORMS, x, true);
        for (int j = 0; j < D; j++) {
            assertTrue(!Float.isFinite(storage[j]) || storage[j] == 0f, "fp16-storage must collapse: " + storage[j]);
            assertEquals(TestModels.fp16((float) ref[j]), fp32Norms[j], 0f, "element " + j + ": the FP16 rounding of the exact norm");
        }
    }

    @Test
    void naiveFusedNormInTheElseBranchOverflowsJustAboveTheThresholdAndNotJustBelow() {
        float[] above = alternating(1.03 * THRESHOLD), below = alternating(0.97 * THRESHOLD);
        float[] storageAbove = runEmulated(Emulation.Mode.FP16_STORAGE, above, false);
        float[] naiveAbove = runEmulated(Emulation.Mode.FP16_NAIVE_NORMS, above, false);
        float[] naiveBelow = runEmulated(Emulation.Mode.FP16_NAIVE_NORMS, below, false);
        double[] refAbove = reference(above, true), refBelow = reference(below, true);
        for (int j = 0; j < D; j++) {
            assertEquals(refAbove[j], storageAbove[j], 4e-3 * Math.abs(refAbove[j]) + 2e-3, "fused LayerNorm computes in FP32 under fp16-storage");
            assertTrue(!Float.isFinite(naiveAbove[j]) || Math.abs(naiveAbove[j] - 0.25f) < 1e-3, "naive sum overflows: " + naiveAbove[j]);
            assertEquals(refBelow[j], naiveBelow[j], 4e-3 * Math.abs(refBelow[j]) + 2e-3, "just below the threshold");
        }
    }

    /**
     * A branch full of integer and bool tensors (Shape, Greater, Where, Reshape): only its float tensors get round
     * trips. A round trip on the shape would hand Reshape a float tensor and the session would not open; on values
     * that are FP16 numbers already the emulation then changes nothing.
     */
    @Test
    void integerAndBoolTensorsInsideABranchAreLeftAlone() {
        GraphProto then = GraphProto.newBuilder().setName("then").addOutput(ProtoBuilders.valueInfo("t", F, 1, D))
                .addInitializer(ProtoBuilders.floatTensor("zero", new long[0], new float[]{0f}))
                .addAllNode(List.of(
                        ProtoBuilders.node("Greater", "positive", List.of("x", "zero"), List.of("pos")),
                        ProtoBuilders.node("Neg", "neg", List.of("x"), List.of("nx")),
                        ProtoBuilders.node("Where", "abs", List.of("pos", "x", "nx"), List.of("ax")),
                        ProtoBuilders.node("Mul", "double", List.of("ax", "ax"), List.of("sq")),
                        ProtoBuilders.node("Shape", "shape", List.of("x"), List.of("shp")),
                        ProtoBuilders.node("Reshape", "reshape", List.of("sq", "shp"), List.of("t")))).build();
        GraphProto otherwise = GraphProto.newBuilder().setName("else").addOutput(ProtoBuilders.valueInfo("e", F, 1, D))
                .addNode(ProtoBuilders.node("Identity", "id", List.of("x"), List.of("e"))).build();
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, 1, D)).addInput(ProtoBuilders.valueInfo("c", DataType.BOOL_VALUE))
                .addOutput(ProtoBuilders.valueInfo("y", F, 1, D))
                .addNode(ProtoBuilders.node("If", "branchy", List.of("c"), List.of("y"), graphAttr("then_branch", then), graphAttr("else_branch", otherwise)));
        ModelProto m = TestModels.model(g, 17);
        float[] x = new float[D];
        for (int j = 0; j < D; j++) x[j] = (j - 32) / 4f; // squares are FP16 numbers too
        ModelProto emulated = Emulation.apply(m, Emulation.Mode.FP16_STORAGE);
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.of("ints.onnx", emulated))) {
            float[] y = Runs.run(s.session(), "emulated", feed(x, true)).get("y").floats();
            for (int j = 0; j < D; j++) assertEquals(x[j] * x[j], y[j], 0f);
        }
        NodeProto ifNode = emulated.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("If")).findFirst().orElseThrow();
        List<NodeProto> thenNodes = ifNode.getAttributeList().stream().filter(a -> a.getName().equals("then_branch")).findFirst().orElseThrow().getG().getNodeList();
        assertTrue(thenNodes.stream().filter(n -> n.getOpType().equals("Cast")).allMatch(n -> !n.getInput(0).startsWith("shp") && !n.getInput(0).startsWith("pos")),
                "no round trip on the shape or the mask");
        assertTrue(thenNodes.stream().anyMatch(n -> n.getOpType().equals("Cast") && n.getInput(0).startsWith("sq")), "the square is rounded");
    }
}
