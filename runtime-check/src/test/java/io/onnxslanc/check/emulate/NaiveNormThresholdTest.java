package io.onnxslanc.check.emulate;

import static io.onnxslanc.check.TestModels.F;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.platform.Fp16Conversions;
import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.ProtoBuilders;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * fp16-naive-norms at the FP16 limit, for the norm spellings BERT-style encoders use: the decomposed LayerNorm
 * of a PyTorch export (ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, Mul, Add) and ONNX Runtime's
 * SkipLayerNormalization / SkipSimplifiedLayerNormalization. Row 0's (centred) sum of squares is 3% above 65504,
 * row 1's 3% below: row 0 must collapse to the shift (x / inf = 0), row 1 must match a float64 norm to FP16
 * accuracy. The inputs are synthetic, built around the threshold.
 */
class NaiveNormThresholdTest {
    private static final int D = 64;
    private static final float EPS = 1e-5f;
    /** Measured worst |error| just below the threshold: 3.0e-3 (SkipLayerNorm), 2.3e-3, 1.4e-3; this is < 10x of it. */
    private static final double BELOW_TOLERANCE = 2e-2;

    private static float fp16(float v) {
        return Fp16Conversions.fp16ToFloat(Fp16Conversions.floatToFp16(v));
    }

    /** Row 0: centred sum of squares 1.03 x 65504; row 1: 0.97 x 65504; offset added after centring. */
    private static float[] rowsAroundThreshold(long seed, double offset) {
        Random r = new Random(seed);
        float[] x = new float[2 * D];
        for (int row = 0; row < 2; row++) {
            double[] v = new double[D];
            double mean = 0, ss = 0;
            for (int j = 0; j < D; j++) mean += (v[j] = r.nextGaussian());
            mean /= D;
            for (int j = 0; j < D; j++) ss += (v[j] - mean) * (v[j] - mean);
            double scale = Math.sqrt((row == 0 ? 1.03 : 0.97) * 65504.0 / ss);
            for (int j = 0; j < D; j++) x[row * D + j] = (float) ((v[j] - mean) * scale + offset);
        }
        return x;
    }

    /** Float64 norm of one row (centred: LayerNorm; else RMSNorm). */
    private static double[] normRef(float[] x, int offset, boolean centered, float eps, float[] gamma, float[] beta) {
        double mean = 0;
        if (centered) {
            for (int j = 0; j < D; j++) mean += x[offset + j];
            mean /= D;
        }
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (x[offset + j] - mean) * (x[offset + j] - mean);
        double rms = Math.sqrt(ss / D + eps);
        double[] y = new double[D];
        for (int j = 0; j < D; j++) y[j] = (x[offset + j] - mean) / rms * gamma[j] + (beta == null ? 0 : beta[j]);
        return y;
    }

    private static float[] gains(Random r, boolean shift) {
        float[] v = new float[D];
        for (int j = 0; j < D; j++) v[j] = shift ? (float) r.nextGaussian() : 0.5f + r.nextFloat();
        return v;
    }

    /** BERT's LayerNorm as torch.onnx writes it (opset 11: ReduceMean with an axes attribute). */
    private static ModelProto decomposedLayerNorm(float[] gamma, float[] beta) {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, 2, D)).addOutput(ProtoBuilders.valueInfo("y", F, 2, D))
                .addInitializer(ProtoBuilders.floatTensor("gamma", new long[] {D}, gamma))
                .addInitializer(ProtoBuilders.floatTensor("beta", new long[] {D}, beta))
                .addInitializer(ProtoBuilders.floatTensor("two", new long[] {}, new float[] {2f}))
                .addInitializer(ProtoBuilders.floatTensor("eps", new long[] {}, new float[] {EPS}))
                .addNode(ProtoBuilders.node("ReduceMean", "ln/ReduceMean", List.of("x"), List.of("mean"), ProtoBuilders.intsAttr("axes", -1)))
                .addNode(ProtoBuilders.node("Sub", "ln/Sub", List.of("x", "mean"), List.of("centred")))
                .addNode(ProtoBuilders.node("Pow", "ln/Pow", List.of("centred", "two"), List.of("squares")))
                .addNode(ProtoBuilders.node("ReduceMean", "ln/ReduceMean_1", List.of("squares"), List.of("variance"), ProtoBuilders.intsAttr("axes", -1)))
                .addNode(ProtoBuilders.node("Add", "ln/Add", List.of("variance", "eps"), List.of("shifted")))
                .addNode(ProtoBuilders.node("Sqrt", "ln/Sqrt", List.of("shifted"), List.of("std")))
                .addNode(ProtoBuilders.node("Div", "ln/Div", List.of("centred", "std"), List.of("normed")))
                .addNode(ProtoBuilders.node("Mul", "ln/Mul", List.of("normed", "gamma"), List.of("scaled")))
                .addNode(ProtoBuilders.node("Add", "ln/Add_1", List.of("scaled", "beta"), List.of("y")));
        return TestModels.model(g, 11);
    }

    @Test
    void decomposedLayerNormCollapsesJustAboveTheThresholdAndIsAccurateJustBelow() {
        Random r = new Random(21);
        float[] gamma = gains(r, false), beta = gains(r, true);
        float[] x = rowsAroundThreshold(22, 5);
        ModelProto m = decomposedLayerNorm(gamma, beta);
        float[] naive;
        try (Emulation.EmulatedSession s = Emulation.open(ModelSource.of("bert_layernorm.onnx", m),
                Emulation.Mode.FP16_NAIVE_NORMS, SessionFactory.cpu(), true)) {
            assertTrue(s.casts().complete(), s.casts().summary());
            naive = Runs.run(s.opened().session(), "naive", Map.of("x", TensorData.ofFloats(new long[] {2, D}, x))).get("y").floats();
        }
        assertCollapsedAboveAccurateBelow("decomposed LayerNorm", x, naive, true, EPS, gamma, beta);
    }

    @Test
    void skipNormsCollapseJustAboveTheThresholdAndAreAccurateJustBelow() {
        Random r = new Random(31);
        float[] gamma = gains(r, false), beta = gains(r, true), bias = gains(r, true);
        for (String op : List.of("SkipLayerNormalization", "SkipSimplifiedLayerNormalization")) {
            boolean ln = op.equals("SkipLayerNormalization");
            // the sum x + skip + bias is what is normalised: build it around the threshold, then split it
            float[] sum = rowsAroundThreshold(32, ln ? 5 : 0);
            float[] skip = new float[2 * D], x = new float[2 * D];
            Random split = new Random(33);
            for (int i = 0; i < 2 * D; i++) {
                skip[i] = fp16((float) split.nextGaussian());
                x[i] = fp16(sum[i] - skip[i] - bias[i % D]);
            }
            float[] actualSum = new float[2 * D];
            for (int i = 0; i < 2 * D; i++) actualSum[i] = fp16(fp16(x[i] + skip[i]) + fp16(bias[i % D]));
            GraphProto.Builder g = GraphProto.newBuilder()
                    .addInput(ProtoBuilders.valueInfo("x", F, 2, D)).addInput(ProtoBuilders.valueInfo("skip", F, 2, D))
                    .addOutput(ProtoBuilders.valueInfo("y", F, 2, D))
                    .addInitializer(ProtoBuilders.floatTensor("gamma", new long[] {D}, gamma))
                    .addInitializer(ProtoBuilders.floatTensor("bias", new long[] {D}, bias))
                    .addNode(ProtoBuilders.node("com.microsoft", op, "skipnorm",
                            ln ? List.of("x", "skip", "gamma", "beta", "bias") : List.of("x", "skip", "gamma", "bias"),
                            List.of("y"), ProtoBuilders.floatAttr("epsilon", EPS)));
            if (ln) g.addInitializer(ProtoBuilders.floatTensor("beta", new long[] {D}, beta));
            ModelProto m = TestModels.model(g, 17);
            float[] naive;
            try (Emulation.EmulatedSession s = Emulation.open(ModelSource.of(op + ".onnx", m),
                    Emulation.Mode.FP16_NAIVE_NORMS, SessionFactory.cpu(), true)) {
                assertTrue(s.casts().complete(), s.casts().summary());
                naive = Runs.run(s.opened().session(), op, Map.of("x", TensorData.ofFloats(new long[] {2, D}, x),
                        "skip", TensorData.ofFloats(new long[] {2, D}, skip))).get("y").floats();
            }
            assertCollapsedAboveAccurateBelow(op, actualSum, naive, ln, EPS, gamma, ln ? beta : null);
        }
    }

    private static void assertCollapsedAboveAccurateBelow(String what, float[] normInput, float[] naive, boolean centered,
                                                          float eps, float[] gamma, float[] beta) {
        double ssAbove = centredSumOfSquares(normInput, 0, centered), ssBelow = centredSumOfSquares(normInput, D, centered);
        assertTrue(ssAbove > 65504 && ssBelow < 65504, what + ": rows not around the threshold: " + ssAbove + ", " + ssBelow);
        double[] below = normRef(normInput, D, centered, eps, gamma, beta);
        double worst = 0;
        for (int j = 0; j < D; j++) {
            float shift = beta == null ? 0f : fp16(beta[j]);
            assertTrue(!Float.isFinite(naive[j]) || naive[j] == shift,
                    what + " above the threshold must collapse to the shift, element " + j + ": " + naive[j]);
            worst = Math.max(worst, Math.abs(below[j] - naive[D + j]));
        }
        System.out.printf("%s, fp16-naive-norms: sum of squares %.0f collapses; at %.0f max |error| vs float64 %.3g%n",
                what, ssAbove, ssBelow, worst);
        assertTrue(worst <= BELOW_TOLERANCE, what + " below the threshold: max |error| " + worst);
    }

    private static double centredSumOfSquares(float[] x, int offset, boolean centered) {
        double mean = 0;
        if (centered) {
            for (int j = 0; j < D; j++) mean += x[offset + j];
            mean /= D;
        }
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (x[offset + j] - mean) * (x[offset + j] - mean);
        return ss;
    }
}
