package io.onnxslanc.calibrate;

import static io.onnxslanc.calibrate.SlancReference.fromMatMulB;
import static io.onnxslanc.calibrate.SlancReference.fromStored;
import static io.onnxslanc.calibrate.SlancReference.toDoubles;
import static io.onnxslanc.calibrate.Transformers.BD;
import static io.onnxslanc.calibrate.Transformers.BFF;
import static io.onnxslanc.calibrate.Transformers.GD;
import static io.onnxslanc.calibrate.Transformers.LD;
import static io.onnxslanc.calibrate.Transformers.LFF;
import static io.onnxslanc.calibrate.Transformers.LHD;
import static io.onnxslanc.calibrate.Transformers.LHEADS;
import static io.onnxslanc.calibrate.Transformers.LKV;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.Progress;
import io.onnxslanc.calibrate.blocks.BlockFinder;
import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.calibrate.math.SlancScales;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SlancCalibratorTest {
    /** Exact Frobenius norms, a tight power iteration, no rounding: s itself is compared. */
    private static final SlancOptions EXACT = SlancOptions.defaults().withPowerOfTwo(false)
            .withMath(SlancScales.Options.defaults().alwaysExact().withPowerTolerance(1e-14).withPowerMaxIterations(2000));

    private static Map<String, NormCalibration> calibrate(TestGraph t, SlancOptions options) {
        return SlancCalibrator.compute(BlockFinder.findAll(t.g, t.sites), options).stream()
                .collect(Collectors.toMap(c -> c.block().site().name(), Function.identity()));
    }

    private static void assertClose(double expected, double actual, double rel, String what) {
        assertTrue(Math.abs(expected - actual) <= rel * Math.abs(expected),
                what + ": expected " + expected + ", got " + actual + " (rel. error " + Math.abs(expected - actual) / expected + ")");
    }

    @Test
    void llamaScalesMatchTheFormulas() {
        TestGraph t = Transformers.llama(11);
        Map<String, NormCalibration> c = calibrate(t, EXACT);

        // the default first-norm scale: the largest row norm of the embedding table that feeds it
        assertEquals(SlancReference.maxRowNorm(t.data("embed"), LD), c.get("l0/input_ln").scale(), 1e-12);
        assertNull(c.get("l0/input_ln").result());
        assertEquals(1.0, calibrate(t, EXACT.withFirstNormUnit(true)).get("l0/input_ln").scale(), "the paper's rule");

        // layer 0: everything stored as MatMul B = W^T
        double att0 = SlancReference.attention(fromMatMulB(t.data("l0.wv"), LD, LKV * LHD),
                fromMatMulB(t.data("l0.wo"), LD, LD), toDoubles(t.data("l0.input_ln.weight")), LHEADS, LKV);
        assertClose(att0, c.get("l0/post_ln").scale(), 1e-9, "attention, GQA 8/4");
        double mlp0 = SlancReference.gatedMlp(fromMatMulB(t.data("l0.wgate"), LD, LFF), fromMatMulB(t.data("l0.wup"), LD, LFF),
                fromMatMulB(t.data("l0.wdown"), LFF, LD), toDoubles(t.data("l0.post_ln.weight")));
        assertClose(mlp0, c.get("l1/input_ln").scale(), 1e-9, "gated MLP");

        // layer 1: W_v via Gemm(transB=1) and W_o behind Transpose store W itself; W_down via Gemm(transB=1)
        double att1 = SlancReference.attention(fromStored(t.data("l1.wv"), LKV * LHD, LD), fromStored(t.data("l1.wo"), LD, LD),
                toDoubles(t.data("l1.input_ln.weight")), LHEADS, LKV);
        assertClose(att1, c.get("l1/post_ln").scale(), 1e-9, "attention, weights stored as W");
        double fin = SlancReference.gatedMlp(fromMatMulB(t.data("l1.wgate"), LD, LFF), fromMatMulB(t.data("l1.wup"), LD, LFF),
                fromStored(t.data("l1.wdown"), LD, LFF), toDoubles(t.data("l1.post_ln.weight")));
        assertClose(fin, c.get("final_ln").scale(), 1e-9, "final norm takes the gated MLP factor");
    }

    @Test
    void groupedQueryExpansionInterleavesHeads() {
        // the tiled expansion (head h reads kv head h % nKv) gives a different s: make sure we are not computing that
        TestGraph t = Transformers.llama(12);
        double s = calibrate(t, EXACT).get("l0/post_ln").scale();
        double[][] wv = fromMatMulB(t.data("l0.wv"), LD, LKV * LHD);
        double[][] tiled = new double[LHEADS * LHD][];
        for (int c = 0; c < LHEADS * LHD; c++) {
            tiled[c] = wv[((c / LHD) % LKV) * LHD + c % LHD];
        }
        double wrong = SlancReference.frobenius(SlancReference.multiply(fromMatMulB(t.data("l0.wo"), LD, LD), tiled),
                toDoubles(t.data("l0.input_ln.weight")), true);
        assertTrue(Math.abs(s - wrong) > 1e-6 * s, "interleaved and tiled expansions should differ on random weights");
    }

    @Test
    void bertScalesMatchTheFormulas() {
        TestGraph t = Transformers.bert(13);
        Map<String, NormCalibration> c = calibrate(t, EXACT);
        double a0 = SlancReference.attention(fromMatMulB(t.data("l0.wv"), BD, BD), fromMatMulB(t.data("l0.wo"), BD, BD),
                toDoubles(t.data("emb_ln.weight")), 4, 4);
        assertClose(a0, c.get("l0/attn_ln").scale(), 1e-9, "post-norm attention, Gamma_prev = embedding norm gain");
        double m0 = SlancReference.plainMlp(fromMatMulB(t.data("l0.w1"), BD, BFF), fromMatMulB(t.data("l0.w2"), BFF, BD),
                toDoubles(t.data("l0.attn_ln.weight")));
        assertClose(m0, c.get("l0/out_ln").scale(), 1e-9, "plain MLP with decomposed GELU");
        double fin = SlancReference.plainMlp(fromMatMulB(t.data("l1.w1"), BD, BFF), fromMatMulB(t.data("l1.w2"), BFF, BD),
                toDoubles(t.data("l1.attn_ln.weight")));
        assertClose(fin, c.get("l1/out_ln").scale(), 1e-9, "final");
    }

    @Test
    void packedQkvAndFp16WeightsMatchTheFormulas() {
        for (int variant = 0; variant < 3; variant++) {
            TestGraph t = Transformers.gpt2(14, variant == 1, variant == 2);
            Map<String, NormCalibration> c = calibrate(t, EXACT);
            double[][] packed = fromMatMulB(t.data("c_attn.weight"), GD, 3 * GD);
            double a = SlancReference.attention(SlancReference.rows(packed, 2 * GD, 3 * GD),
                    fromMatMulB(t.data("c_proj.weight"), GD, GD), toDoubles(t.data("ln_1.weight")), 4, 4);
            assertClose(a, c.get("ln_2").scale(), 1e-9, "packed QKV, V columns only");
            double m = SlancReference.plainMlp(fromMatMulB(t.data("c_fc.weight"), GD, 4 * GD),
                    fromMatMulB(t.data("mlp_proj.weight"), 4 * GD, GD), toDoubles(t.data("ln_2.weight")));
            assertClose(m, c.get("ln_f").scale(), 1e-9, "final, FP16 W_2 behind Cast");
        }
    }

    @Test
    void powerOfTwoRoundingIsDefaultAndSwitchable() {
        TestGraph t = Transformers.llama(15);
        SlancOptions rounded = EXACT.withPowerOfTwo(true);
        Map<String, NormCalibration> c = calibrate(t, rounded);
        for (NormCalibration n : c.values()) {
            if (n.result() != null) {
                double expected = SlancReference.powerOfTwo(n.result().scale());
                assertEquals(expected, n.scale(), n.block().site().name());
                assertEquals(0, Math.getExponent(n.scale()) - Math.log(n.scale()) / Math.log(2), 0, "a power of two");
            }
        }
        assertTrue(SlancOptions.defaults().powerOfTwo());
    }

    @Test
    void estimateAboveTheThresholdIsCloseAndSaysSo() {
        TestGraph t = Transformers.llama(16);
        Map<String, NormCalibration> exact = calibrate(t, EXACT);
        SlancOptions estimate = EXACT.withMath(EXACT.math().alwaysEstimate().withMaxProbes(4096).withTargetRelativeError(0.002));
        Map<String, NormCalibration> est = calibrate(t, estimate);
        for (String name : List.of("l0/post_ln", "l1/input_ln", "l1/post_ln", "final_ln")) {
            NormCalibration e = est.get(name);
            assertTrue(e.result().estimated(), name);
            double err = e.result().relativeStdError();
            assertTrue(err > 0 && err < 0.05, name + " std error " + err);
            assertClose(exact.get(name).scale(), e.scale(), 6 * err + 1e-12, name + " estimate within 6 std errors");
        }
    }

    @Test
    void nanWeightIsAnErrorNamingTheInitializer() {
        TestGraph t = Transformers.llama(17);
        float[] wv = t.data("l1.wv").clone();
        wv[5] = Float.NaN;
        t.g.lookup("l1.wv").setConstant(io.onnxslanc.ir.ArrayTensor.ofFloats(new long[] {LKV * LHD, LD}, wv));
        CalibrationException e = assertThrows(CalibrationException.class, () -> calibrate(t, EXACT));
        assertTrue(e.getMessage().contains("'l1.wv'"), e.getMessage());
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        assertTrue(e.getMessage().contains("norm 'l1/post_ln'"), e.getMessage());
    }

    @Test
    void infiniteGainIsAnErrorNamingTheInitializer() {
        TestGraph t = Transformers.llama(18);
        float[] g = t.data("l0.post_ln.weight").clone();
        g[3] = Float.POSITIVE_INFINITY;
        t.g.lookup("l0.post_ln.weight").setConstant(io.onnxslanc.ir.ArrayTensor.ofFloats(new long[] {LD}, g));
        CalibrationException e = assertThrows(CalibrationException.class, () -> calibrate(t, EXACT));
        assertTrue(e.getMessage().contains("gain 'l0.post_ln.weight' contains Infinity"), e.getMessage());
    }

    @Test
    void unknownBlocksStayUnscaledAndProgressCountsEveryNorm() {
        TestGraph t = Transformers.llama(19);
        List<NormBlock> blocks = new ArrayList<>(BlockFinder.findAll(t.g, t.sites));
        blocks.set(2, new NormBlock.Unknown(blocks.get(2).site(), "because the test says so"));
        long[] steps = new long[2];
        Progress counting = new Progress() {
            @Override
            public void begin(String task, long total) {
                steps[0] = total;
            }

            @Override
            public void advance(long amount) {
                steps[1] += amount;
            }

            @Override
            public void end() {
            }
        };
        List<NormCalibration> c = SlancCalibrator.compute(blocks, EXACT.withProgress(counting));
        assertNull(c.get(2).scale());
        assertEquals("because the test says so", c.get(2).reason());
        assertEquals(5, steps[0]);
        assertEquals(5, steps[1]);
    }

    @Test
    void fusedFormsMatchTheFormulas() {
        TestGraph t = Transformers.fusedLlama(41, false);
        Map<String, NormCalibration> c = calibrate(t, EXACT);
        double a = SlancReference.attention(fromMatMulB(t.data("wv"), LD, LKV * LHD), fromMatMulB(t.data("wo_flat"), LD, LD),
                toDoubles(t.data("input_ln.weight")), LHEADS, LKV);
        assertClose(a, c.get("post_ln").result().scale(), 1e-9, "GroupQueryAttention, W_o behind Reshape");
        assertEquals(SlancReference.powerOfTwo(a), c.get("post_ln").scale(), "Skip norms are always rounded");
        double m = SlancReference.plainMlp(fromMatMulB(t.data("w1"), LD, LFF), fromMatMulB(t.data("w2"), LFF, LD),
                toDoubles(t.data("post_ln.weight")));
        assertClose(m, c.get("final_ln").scale(), 1e-9, "final after a Skip norm");

        TestGraph p = Transformers.fusedLlama(42, true);
        double packed = SlancReference.attention(SlancReference.rows(fromMatMulB(p.data("qkv"), LD, 3 * LD), 2 * LD, 3 * LD),
                fromMatMulB(p.data("wo_flat"), LD, LD), toDoubles(p.data("input_ln.weight")), LHEADS, LHEADS);
        assertClose(packed, calibrate(p, EXACT).get("post_ln").result().scale(), 1e-9, "com.microsoft Attention, packed");
    }
}
