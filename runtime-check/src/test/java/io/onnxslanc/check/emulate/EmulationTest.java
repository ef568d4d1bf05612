package io.onnxslanc.check.emulate;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import ai.onnxruntime.platform.Fp16Conversions;
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
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.onnxslanc.check.TestModels.F;
import static io.onnxslanc.check.TestModels.H;
import static org.junit.jupiter.api.Assertions.*;

class EmulationTest {

    private static final int D = 64;
    /** RMS above which the sum of d squares exceeds 65504 (FP16 max): sqrt(65504 / 64) = 31.99. */
    private static final double THRESHOLD = Math.sqrt(65504.0 / D);

    private static float fp16(float v) {
        return Fp16Conversions.fp16ToFloat(Fp16Conversions.floatToFp16(v));
    }

    private static float[] run(ModelProto m, String label, float[] x, long... shape) {
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.of(label, m))) {
            return Runs.run(s.session(), label, Map.of("x", TensorData.ofFloats(shape, x))).get("y").floats();
        }
    }

    private static float[] runEmulated(ModelProto m, Emulation.Mode mode, float[] x, long... shape) {
        try (Emulation.EmulatedSession s = Emulation.open(ModelSource.of("test.onnx", m), mode, SessionFactory.cpu(), true)) {
            assertTrue(s.casts().complete(), s.casts().summary());
            assertTrue(s.casts().inserted() > 0);
            return Runs.run(s.opened().session(), "emulated", Map.of("x", TensorData.ofFloats(shape, x))).get("y").floats();
        }
    }

    /** Double-precision RMSNorm (centered = LayerNorm) of one row. */
    private static double[] normRef(float[] x, int offset, int d, boolean centered, float eps, float[] gamma, float[] beta) {
        double mean = 0;
        if (centered) {
            for (int j = 0; j < d; j++) mean += x[offset + j];
            mean /= d;
        }
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (x[offset + j] - mean) * (x[offset + j] - mean);
        double rms = Math.sqrt(ss / d + eps);
        double[] y = new double[d];
        for (int j = 0; j < d; j++) y[j] = (x[offset + j] - mean) / rms * gamma[j] + (beta == null ? 0 : beta[j]);
        return y;
    }

    private static float[] sweep() {
        List<Float> v = new ArrayList<>(List.of(0f, -0f, 1f, -1f, 65504f, 65519.99f, 65520f, 1e6f, -1e6f, 1e-9f, -1e-9f,
                6.1035156e-5f, 6.0e-8f, 5.9604645e-8f, 2.9802322e-8f, 2.98023259e-8f, 1e-7f, 3.14159265f, 1.00048828125f,
                1.000244140625f, 2049f, 2051f, Float.MIN_VALUE, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, 300f, 255.9f));
        Random r = new Random(7);
        for (int i = 0; i < 4000; i++) v.add((float) ((r.nextBoolean() ? 1 : -1) * Math.pow(10, -10 + 17 * r.nextDouble())));
        for (int i = 0; i < 1000; i++) v.add(Float.intBitsToFloat(r.nextInt())); // every bit pattern class, NaNs included
        float[] a = new float[v.size()];
        for (int i = 0; i < a.length; i++) a[i] = v.get(i);
        return a;
    }

    private static void assertBitExactFp16(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            float want = fp16(x[i]);
            if (Float.isNaN(want)) assertTrue(Float.isNaN(y[i]), "NaN expected for " + x[i]);
            else assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(y[i]), "fp16 round trip of " + x[i] + " gave " + y[i]);
        }
    }

    @Test
    void castPairRoundsBitExactlyAsFp16ConversionsAtEveryLevel() {
        float[] x = sweep();
        ModelProto m = TestModels.castPair(x.length);
        for (OptLevel level : List.of(OptLevel.NO_OPT, OptLevel.BASIC_OPT, OptLevel.ALL_OPT)) {
            float[] y;
            try (OpenedSession s = SessionFactory.cpu().withOptLevel(level).open(ModelSource.of("pair.onnx", m))) {
                y = Runs.run(s.session(), "pair", Map.of("x", TensorData.ofFloats(new long[]{x.length}, x))).get("y").floats();
            }
            assertBitExactFp16(x, y);
        }
        assertEquals(Float.POSITIVE_INFINITY, fp16(1e6f));
        assertEquals(0f, fp16(1e-9f));
    }

    @Test
    void storageEmulationRoundsAGraphInputBitExactly() {
        float[] x = sweep();
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, x.length)).addOutput(ProtoBuilders.valueInfo("y", F, x.length))
                .addNode(ProtoBuilders.node("Identity", "id", List.of("x"), List.of("y")));
        assertBitExactFp16(x, runEmulated(TestModels.model(g, 17), Emulation.Mode.FP16_STORAGE, x, x.length));
    }

    @Test
    void storageEmulationOverflowsTheSquaresOfADecomposedRmsNormWhereFp32DoesNot() {
        float[] gamma = new float[D];
        Random r = new Random(1);
        for (int j = 0; j < D; j++) gamma[j] = 0.5f + r.nextFloat();
        // row 0: |x| = 300, x^2 = 90000 > 65504; row 1: moderate values
        float[] x = new float[2 * D];
        for (int j = 0; j < D; j++) {
            x[j] = (j % 3 == 0 ? -300f : 300f);
            x[D + j] = (float) r.nextGaussian();
        }
        ModelProto m = TestModels.decomposedRmsNorm(2, D, 1e-5f, gamma, F);
        float[] fp32 = run(m, "rms.onnx", x, 2, D);
        float[] emu = runEmulated(m, Emulation.Mode.FP16_STORAGE, x, 2, D);
        for (int row = 0; row < 2; row++) {
            double[] ref = normRef(x, row * D, D, false, 1e-5f, gamma, null);
            for (int j = 0; j < D; j++) {
                assertEquals(ref[j], fp32[row * D + j], 1e-5 * Math.abs(ref[j]) + 1e-6, "fp32 row " + row);
                float e = emu[row * D + j];
                if (row == 0) assertTrue(!Float.isFinite(e) || e == 0f, "emulated FP16 must collapse: " + e);
                else assertEquals(ref[j], e, 4e-3 * Math.abs(ref[j]) + 1e-3, "emulated row 1, element " + j);
            }
        }
    }

    @Test
    void plainFp16ModelOnTheCpuProviderDoesNotOverflow() {
        // The same decomposed RMSNorm built with FLOAT16 tensors throughout. ORT's CPU provider has no FP16 kernels for
        // Pow/ReduceMean/Add/Sqrt/Div/Mul: it computes them in FP32 behind its own inserted Casts and drops the Cast
        // pairs between consecutive nodes, so x^2 = 90000 never exists in FP16 and the answer is right. Real FP16
        // hardware returns 0 here. This is why the emulation (explicit round trips in an FP32 graph) exists.
        float[] gamma = TestModels.filled(D, 1.5f);
        float[] x = new float[D];
        for (int j = 0; j < D; j++) x[j] = j % 2 == 0 ? 300f : -300f;
        float[] y = run(TestModels.decomposedRmsNorm(1, D, 1e-5f, gamma, H), "rms-fp16.onnx", x, 1, D);
        double[] ref = normRef(x, 0, D, false, 1e-5f, gamma, null);
        for (int j = 0; j < D; j++) {
            assertTrue(Float.isFinite(y[j]));
            assertEquals(ref[j], y[j], 2e-3 * Math.abs(ref[j]), "plain FP16 model on CPU, element " + j);
        }
    }

    @Test
    void naiveNormsOverflowTheSumOfADecomposedNormThatStorageAloneKeeps() {
        // every |x| < 255.9, so no single square overflows, but RMS = 40 > 31.99: only the FP16 sum overflows
        float[] gamma = TestModels.filled(D, 1f);
        float[] x = new float[D];
        for (int j = 0; j < D; j++) x[j] = j % 2 == 0 ? 40f : -40f;
        ModelProto m = TestModels.decomposedRmsNorm(1, D, 1e-5f, gamma, F);
        ModelProto decomposed = NaiveNormEmulation.decompose(m);
        assertTrue(decomposed.getGraph().getNodeList().stream().noneMatch(n -> n.getOpType().equals("ReduceMean")));
        assertTrue(decomposed.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("ReduceSum")));
        float[] storage = runEmulated(m, Emulation.Mode.FP16_STORAGE, x, 1, D);
        float[] naive = runEmulated(m, Emulation.Mode.FP16_NAIVE_NORMS, x, 1, D);
        for (int j = 0; j < D; j++) {
            assertEquals(j % 2 == 0 ? 1f : -1f, storage[j], 2e-3f, "fp16-storage keeps the FP32 mean");
            assertTrue(!Float.isFinite(naive[j]) || naive[j] == 0f, "fp16-naive-norms must collapse: " + naive[j]);
        }
    }

    /** Rows with centred RMS just above (row 0) and just below (row 1) sqrt(65504 / d), mean 5 (for LayerNorm). */
    private static float[] rowsAroundThreshold(boolean centered) {
        Random r = new Random(3);
        float[] x = new float[2 * D];
        for (int row = 0; row < 2; row++) {
            double[] v = new double[D];
            double mean = 0, ss = 0;
            for (int j = 0; j < D; j++) mean += (v[j] = r.nextGaussian());
            mean /= D;
            for (int j = 0; j < D; j++) ss += (v[j] - mean) * (v[j] - mean);
            double scale = (row == 0 ? 1.03 : 0.97) * THRESHOLD / Math.sqrt(ss / D);
            for (int j = 0; j < D; j++) x[row * D + j] = (float) ((v[j] - mean) * scale + (centered ? 5 : 0));
        }
        return x;
    }

    @Test
    void naiveNormsOnFusedNormsOverflowJustAboveTheThresholdAndNotJustBelow() {
        Random r = new Random(5);
        float[] gamma = new float[D], beta = new float[D];
        for (int j = 0; j < D; j++) {
            gamma[j] = 0.5f + r.nextFloat();
            beta[j] = (float) r.nextGaussian();
        }
        for (String op : List.of("LayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization")) {
            boolean ln = op.equals("LayerNormalization");
            float[] b = ln ? beta : null;
            float[] x = rowsAroundThreshold(ln);
            ModelProto m = TestModels.fusedNorm(op, 2, D, 1e-5f, gamma, b);
            float[] fp32 = run(m, op, x, 2, D);
            float[] naive = runEmulated(m, Emulation.Mode.FP16_NAIVE_NORMS, x, 2, D);
            float[] storage = runEmulated(m, Emulation.Mode.FP16_STORAGE, x, 2, D);
            double worst = 0;
            for (int row = 0; row < 2; row++) {
                double[] ref = normRef(x, row * D, D, ln, 1e-5f, gamma, b);
                for (int j = 0; j < D; j++) {
                    int i = row * D + j;
                    assertEquals(ref[j], fp32[i], 1e-4 * Math.abs(ref[j]) + 1e-5, op + " fp32");
                    assertEquals(ref[j], storage[i], 4e-3 * Math.abs(ref[j]) + 2e-3, op + " fused norm under fp16-storage");
                    if (row == 0) {
                        // the normalised part x / inf collapses to 0 (or NaN): what is left is the shift
                        assertTrue(!Float.isFinite(naive[i]) || naive[i] == (b == null ? 0f : fp16(b[j])),
                                op + " above the threshold must collapse, got " + naive[i] + " want " + ref[j]);
                    } else {
                        assertEquals(ref[j], naive[i], 4e-3 * Math.abs(ref[j]) + 2e-3, op + " below the threshold, element " + j);
                        worst = Math.max(worst, Math.abs(ref[j] - naive[i]));
                    }
                }
            }
            System.out.printf("%s naive-norms just below threshold: max abs error %.3g%n", op, worst);
        }
    }

    @Test
    void naiveNormsHandleSkipNormsWithTheirSumOutput() {
        Random r = new Random(9);
        float[] gamma = new float[D], beta = new float[D], bias = new float[D];
        for (int j = 0; j < D; j++) {
            gamma[j] = 0.5f + r.nextFloat();
            beta[j] = (float) r.nextGaussian();
            bias[j] = (float) r.nextGaussian();
        }
        float[] x = new float[D], skip = new float[D];
        for (int j = 0; j < D; j++) {
            x[j] = (float) r.nextGaussian();
            skip[j] = (float) r.nextGaussian();
        }
        for (String op : List.of("SkipSimplifiedLayerNormalization", "SkipLayerNormalization")) {
            boolean ln = op.equals("SkipLayerNormalization");
            GraphProto.Builder g = GraphProto.newBuilder()
                    .addInput(ProtoBuilders.valueInfo("x", F, 1, D)).addInput(ProtoBuilders.valueInfo("skip", F, 1, D))
                    .addOutput(ProtoBuilders.valueInfo("y", F, 1, D)).addOutput(ProtoBuilders.valueInfo("sum", F, 1, D))
                    .addInitializer(ProtoBuilders.floatTensor("gamma", new long[]{D}, gamma))
                    .addInitializer(ProtoBuilders.floatTensor("bias", new long[]{D}, bias))
                    .addNode(ProtoBuilders.node("com.microsoft", op, "skipnorm",
                            ln ? List.of("x", "skip", "gamma", "beta", "bias") : List.of("x", "skip", "gamma", "bias"),
                            List.of("y", "", "", "sum"), ProtoBuilders.floatAttr("epsilon", 1e-6f)));
            if (ln) g.addInitializer(ProtoBuilders.floatTensor("beta", new long[]{D}, beta));
            ModelProto m = TestModels.model(g, 17);
            float[] sum = new float[D], roundedSum = new float[D];
            for (int j = 0; j < D; j++) {
                sum[j] = x[j] + skip[j] + bias[j];
                roundedSum[j] = fp16(fp16(fp16(x[j]) + fp16(skip[j])) + fp16(bias[j]));
            }
            double[] ref = normRef(sum, 0, D, ln, 1e-6f, gamma, ln ? beta : null);
            try (Emulation.EmulatedSession s = Emulation.open(ModelSource.of(op + ".onnx", m), Emulation.Mode.FP16_NAIVE_NORMS, SessionFactory.cpu(), true)) {
                Map<String, TensorData> out = Runs.run(s.opened().session(), op, Map.of(
                        "x", TensorData.ofFloats(new long[]{1, D}, x), "skip", TensorData.ofFloats(new long[]{1, D}, skip)));
                for (int j = 0; j < D; j++) {
                    assertEquals(roundedSum[j], out.get("sum").floats()[j], op + ": sum output = x + skip + bias, each step rounded");
                    assertEquals(ref[j], out.get("y").floats()[j], 4e-3 * Math.abs(ref[j]) + 2e-3, op);
                }
            }
        }
    }

    @Test
    void emulationCastsAreNamedApartFromOrtsOwnAndInitializersAreRounded() {
        ModelProto m = TestModels.fusedNorm("LayerNormalization", 2, D, 1e-5f, TestModels.filled(D, 0.1f), TestModels.filled(D, 0.3f));
        ModelProto e = Emulation.apply(m, Emulation.Mode.FP16_NAIVE_NORMS);
        List<NodeProto> casts = e.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Cast")).toList();
        assertFalse(casts.isEmpty());
        assertTrue(casts.stream().noneMatch(n -> n.getName().startsWith("InsertedPrecisionFreeCast")));
        List<NodeProto> toHalf = casts.stream().filter(n -> ProtoBuilders.intAttr(n, "to", 0) == H).toList();
        assertTrue(toHalf.size() >= 10, "a round trip after each step of the decomposed norm");
        assertTrue(toHalf.stream().allMatch(n -> n.getName().startsWith("emu_fp16_")));
        assertTrue(e.getGraph().getNodeList().stream().noneMatch(n -> n.getOpType().equals("LayerNormalization")));
        float[] gammaOut = ProtoBuilders.floats(e.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("gamma")).findFirst().orElseThrow());
        assertEquals(fp16(0.1f), gammaOut[0]);
        assertNotEquals(0.1f, gammaOut[0]);
        assertEquals(List.of("y"), e.getGraph().getOutputList().stream().map(v -> v.getName()).toList());
    }

    @Test
    void castCheckFailsLoudlyWhenOrtRemovesTheCasts() {
        ModelProto m = TestModels.decomposedRmsNorm(1, D, 1e-5f, TestModels.filled(D, 1f), F);
        SessionFactory eliminating = new SessionFactory(io.onnxslanc.check.ep.ProviderChoice.CPU, OptLevel.BASIC_OPT, Map.of(),
                Map.of("optimization.enable_cast_chain_elimination", "1"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Emulation.open(ModelSource.of("rms.onnx", m), Emulation.Mode.FP16_STORAGE, eliminating, true));
        assertTrue(e.getMessage().matches("rms\\.onnx \\[fp16-storage\\]: only \\d+ of \\d+ emulation casts survived.*"), e.getMessage());
        try (Emulation.EmulatedSession unchecked = Emulation.open(ModelSource.of("rms.onnx", m), Emulation.Mode.FP16_STORAGE, eliminating, false)) {
            assertNull(unchecked.casts());
        }
    }

    @Test
    void rejectsUnknownModesAndFp16Models() {
        assertThrows(IllegalArgumentException.class, () -> Emulation.Mode.parse("fp8"));
        IllegalArgumentException half = assertThrows(IllegalArgumentException.class, () -> Emulation.apply(
                TestModels.decomposedRmsNorm(1, D, 1e-5f, TestModels.filled(D, 1f), H), Emulation.Mode.FP16_STORAGE));
        assertEquals("FP16 emulation works on the FP32 model, but input 'x' is FLOAT16", half.getMessage());
        assertEquals(Emulation.Mode.FP16_NAIVE_NORMS, Emulation.Mode.parse("fp16-naive-norms"));
    }
}
