package io.onnxslanc.calibrate;

import static io.onnxslanc.calibrate.SlancReference.fromMatMulB;
import static io.onnxslanc.calibrate.SlancReference.toDoubles;
import static io.onnxslanc.ir.Attribute.ofInt;
import static io.onnxslanc.ir.Attribute.ofInts;
import static io.onnxslanc.ir.Attribute.ofString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.blocks.BlockFinder;
import io.onnxslanc.calibrate.blocks.BlockFinderTest;
import io.onnxslanc.calibrate.blocks.BlockKind;
import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.calibrate.math.SlancScales;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Value;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Block forms beyond the sequential self-attention / MLP stack (synthetic graphs in the shapes exporters write):
 * cross-attention over an encoder memory, parallel attention + MLP blocks, attention written with Einsum and kv
 * heads repeated with Tile, a norm reading a norm, and the first norm's scale from several embedding tables. Every
 * scale is compared with a float64 re-implementation of its formula from the raw weights (SlancReference).
 */
class BlockFormsTest {
    private static final int D = 16;
    private static final int HEADS = 4;
    private static final int HD = 4;
    private static final int FF = 24;
    private static final SlancOptions EXACT = SlancOptions.defaults().withPowerOfTwo(false)
            .withMath(SlancScales.Options.defaults().alwaysExact().withPowerTolerance(1e-14).withPowerMaxIterations(2000));

    private static Map<String, NormCalibration> calibrate(TestGraph t) {
        return SlancCalibrator.compute(BlockFinder.findAll(t.g, t.sites), EXACT).stream()
                .collect(Collectors.toMap(c -> c.block().site().name(), Function.identity()));
    }

    private static void assertClose(double expected, double actual, String what) {
        assertTrue(Math.abs(expected - actual) <= 1e-9 * Math.abs(expected),
                what + ": expected " + expected + ", got " + actual);
    }

    /** Multi-head attention of query input h over key/value input kv; returns the W_o output (no bias). */
    private static Value attention(TestGraph t, String p, Value h, Value kv, int kvHeads, boolean einsumTile) {
        Value q = t.matMul(h, t.weight(p + ".wq", D, HEADS * HD, 0.3));
        q = t.op("Transpose", List.of(t.op("Reshape", q, t.longs(p + ".qs", 0, 0, HEADS, HD))), ofInts("perm", 0, 2, 1, 3));
        Value k = t.matMul(kv, t.weight(p + ".wk", D, kvHeads * HD, 0.3));
        k = t.op("Transpose", List.of(t.op("Reshape", k, t.longs(p + ".ks", 0, 0, kvHeads, HD))), ofInts("perm", 0, 2, 1, 3));
        Value v = t.matMul(kv, t.weight(p + ".wv", D, kvHeads * HD, 0.3));
        v = t.op("Transpose", List.of(t.op("Reshape", v, t.longs(p + ".vs", 0, 0, kvHeads, HD))), ofInts("perm", 0, 2, 1, 3));
        Value ctx;
        if (einsumTile) {
            Value reps = t.longs(p + ".reps", 1, HEADS / kvHeads, 1, 1);
            k = t.op("Tile", k, reps);
            v = t.op("Tile", v, reps);
            Value scores = t.op("Einsum", List.of(q, k), ofString("equation", "bhqd,bhkd->bhqk"));
            Value probs = t.op("Softmax", List.of(scores), ofInt("axis", -1));
            ctx = t.op("Einsum", List.of(probs, v), ofString("equation", "bhqk,bhkd->bhqd"));
        } else {
            Value kt = t.op("Transpose", List.of(k), ofInts("perm", 0, 1, 3, 2));
            Value probs = t.op("Softmax", List.of(t.op("Div", t.matMul(q, kt), t.scalar(p + ".sqrt", 2f))), ofInt("axis", -1));
            ctx = t.matMul(probs, v);
        }
        ctx = t.op("Reshape", t.op("Transpose", List.of(ctx), ofInts("perm", 0, 2, 1, 3)), t.longs(p + ".cs", 0, 0, HEADS * HD));
        return t.matMul(ctx, t.weight(p + ".wo", HEADS * HD, D, 0.3));
    }

    private static Value tokens(TestGraph t, String name, int vocab) {
        return t.op("Gather", t.weight(name, vocab, D, 1.0), t.input(name + "_ids", DataType.INT64, 1, 5));
    }

    @Test
    void crossAttentionReadsTheMemoryNormAndTheQueryNorm() {
        TestGraph t = new TestGraph(5);
        Value memory = t.layerNorm("enc_ln", tokens(t, "src_emb", 11), t.vector("enc_ln.weight", D, 1.5, 0.3),
                t.vector("enc_ln.bias", D, 0, 0.1), 1e-5f, D).output();
        Value x = tokens(t, "tgt_emb", 13);
        Value h = t.layerNorm("dec_ln1", x, t.vector("dec_ln1.weight", D, 0.7, 0.2), t.vector("dec_ln1.bias", D, 0, 0.1),
                1e-5f, D).output();
        Value y = t.op("Add", x, attention(t, "cross", h, memory, HEADS, false));
        Value out = t.layerNorm("dec_ln2", y, t.vector("dec_ln2.weight", D, 1.0, 0.2), t.vector("dec_ln2.bias", D, 0, 0.1),
                1e-5f, D).output();
        t.g.addOutput(out);

        NormCalibration c = calibrate(t).get("dec_ln2");
        NormBlock b = c.block();
        assertEquals(BlockKind.CROSS_ATTENTION, b.formula(), b.reason());
        assertEquals("dec_ln1", b.feedingNorm().name(), "Gamma_prev: the norm feeding W_q (pre-norm: the block's own)");
        assertEquals("enc_ln", ((NormBlock.CrossAttention) b.formulaBlock()).memoryNorm().name());
        double expected = SlancReference.crossAttention(fromMatMulB(t.data("cross.wv"), D, HEADS * HD),
                fromMatMulB(t.data("cross.wo"), HEADS * HD, D), toDoubles(t.data("dec_ln1.weight")),
                toDoubles(t.data("enc_ln.weight")));
        assertClose(expected, c.scale(), "cross-attention");
    }

    @Test
    void crossAttentionOverAGraphInputMemoryTakesUnitGain() {
        TestGraph t = new TestGraph(6);
        Value memory = t.input("memory", DataType.FLOAT, 1, 7, D);
        Value x = tokens(t, "tgt_emb", 13);
        Value h = t.rmsNorm("ln1", x, t.vector("ln1.weight", D, 2.0, 0.3), 1e-5f, D).output();
        Value y = t.op("Add", x, attention(t, "cross", h, memory, HEADS, false));
        t.g.addOutput(t.rmsNorm("ln2", y, t.vector("ln2.weight", D, 1.0, 0.2), 1e-5f, D).output());

        NormBlock b = calibrate(t).get("ln2").block();
        assertEquals(BlockKind.CROSS_ATTENTION, b.formula(), b.reason());
        assertTrue(BlockFinderTest.heads(b).source().contains("graph input 'memory'"), BlockFinderTest.heads(b).source());
        double expected = SlancReference.crossAttention(fromMatMulB(t.data("cross.wv"), D, HEADS * HD),
                fromMatMulB(t.data("cross.wo"), HEADS * HD, D), toDoubles(t.data("ln1.weight")), null);
        assertClose(expected, calibrate(t).get("ln2").scale(), "cross-attention, memory with unit gain");
    }

    /** x + attn(ln x) + mlp(ln x), summed as GPT-J writes it, then a final norm. */
    private static TestGraph parallelBlock(long seed, boolean gated) {
        TestGraph t = new TestGraph(seed);
        Value x = tokens(t, "emb", 9);
        Value h = t.layerNorm("ln_1", x, t.vector("ln_1.weight", D, 1.2, 0.3), t.vector("ln_1.bias", D, 0, 0.1), 1e-5f, D)
                .output();
        Value attn = attention(t, "attn", h, h, HEADS, false);
        Value mlp;
        if (gated) {
            Value gate = t.matMul(h, t.weight("wgate", D, FF, 0.3));
            Value up = t.matMul(h, t.weight("wup", D, FF, 0.3));
            mlp = t.matMul(t.op("Mul", t.op("Mul", gate, t.op("Sigmoid", gate)), up), t.weight("wdown", FF, D, 0.3));
        } else {
            Value f = t.op("Add", t.matMul(h, t.weight("w1", D, FF, 0.3)), t.vector("b1", FF, 0, 0.1));
            mlp = t.op("Add", t.matMul(t.op("Gelu", f), t.weight("w2", FF, D, 0.3)), t.vector("b2", D, 0, 0.1));
        }
        Value y = t.op("Add", t.op("Add", attn, mlp), x);
        t.g.addOutput(t.layerNorm("ln_f", y, t.vector("ln_f.weight", D, 1.0, 0.2), t.vector("ln_f.bias", D, 0, 0.1),
                1e-5f, D).output());
        return t;
    }

    @Test
    void parallelBlockSumsBothBranches() {
        TestGraph t = parallelBlock(7, false);
        NormCalibration c = calibrate(t).get("ln_f");
        assertEquals(BlockKind.FINAL, c.block().kind(), c.block().reason());
        assertEquals(BlockKind.PARALLEL, c.block().formula());
        double expected = SlancReference.parallel(fromMatMulB(t.data("attn.wv"), D, HEADS * HD),
                fromMatMulB(t.data("attn.wo"), HEADS * HD, D), fromMatMulB(t.data("w1"), D, FF),
                fromMatMulB(t.data("w2"), FF, D), toDoubles(t.data("ln_1.weight")));
        assertClose(expected, c.scale(), "parallel block");
    }

    @Test
    void parallelBlockEstimateIsCloseToExact() {
        TestGraph t = parallelBlock(7, false);
        double exact = calibrate(t).get("ln_f").scale();
        SlancOptions probed = EXACT.withMath(SlancScales.Options.defaults().alwaysEstimate().withMaxProbes(4096)
                .withTargetRelativeError(0.002));
        NormCalibration c = SlancCalibrator.compute(BlockFinder.findAll(t.g, t.sites), probed).stream()
                .filter(x -> x.block().site().name().equals("ln_f")).findFirst().orElseThrow();
        assertTrue(c.result().estimated());
        assertTrue(Math.abs(c.scale() - exact) <= 0.02 * exact, "estimated " + c.scale() + " vs exact " + exact);
    }

    @Test
    void parallelBlockWithGatedMlpAddsTheSquares() {
        TestGraph t = parallelBlock(8, true);
        NormCalibration c = calibrate(t).get("ln_f");
        assertEquals(BlockKind.PARALLEL, c.block().formula(), c.block().reason());
        double[] gamma = toDoubles(t.data("ln_1.weight"));
        double att = SlancReference.attention(fromMatMulB(t.data("attn.wv"), D, HEADS * HD),
                fromMatMulB(t.data("attn.wo"), HEADS * HD, D), gamma, HEADS, HEADS);
        double mlp = SlancReference.gatedMlp(fromMatMulB(t.data("wgate"), D, FF), fromMatMulB(t.data("wup"), D, FF),
                fromMatMulB(t.data("wdown"), FF, D), gamma);
        assertClose(Math.sqrt(att * att + mlp * mlp), c.scale(), "parallel block, gated MLP");
    }

    @Test
    void einsumAttentionWithTiledKvHeads() {
        TestGraph t = new TestGraph(9);
        Value x = tokens(t, "emb", 9);
        Value h = t.rmsNorm("ln1", x, t.vector("ln1.weight", D, 1.0, 0.3), 1e-5f, D).output();
        Value y = t.op("Add", x, attention(t, "attn", h, h, 2, true));
        t.g.addOutput(t.rmsNorm("ln2", y, t.vector("ln2.weight", D, 1.0, 0.2), 1e-5f, D).output());

        NormCalibration c = calibrate(t).get("ln2");
        NormBlock b = c.block();
        assertEquals(BlockKind.ATTENTION, b.formula(), b.reason());
        assertEquals(HEADS, BlockFinderTest.heads(b).nHeads());
        assertEquals(2, BlockFinderTest.heads(b).nKvHeads());
        assertTrue(BlockFinderTest.heads(b).kvTiled(), BlockFinderTest.heads(b).source());
        double[][] wv = fromMatMulB(t.data("attn.wv"), D, 2 * HD);
        double[][] wo = fromMatMulB(t.data("attn.wo"), HEADS * HD, D);
        double[] gamma = toDoubles(t.data("ln1.weight"));
        double tiled = SlancReference.attentionTiled(wv, wo, gamma, HEADS, 2);
        assertClose(tiled, c.scale(), "Einsum attention, Tile-repeated kv heads");
        double interleaved = SlancReference.attention(wv, wo, gamma, HEADS, 2);
        assertTrue(Math.abs(interleaved - tiled) > 1e-6 * tiled, "the head order matters for these weights");
    }

    @Test
    void gemmWithTransposedActivationIsALinearLayer() {
        TestGraph t = new TestGraph(11);
        Value x = t.op("Gather", t.weight("emb", 9, D, 1.0), t.input("ids", DataType.INT64, 5));
        Value h = t.layerNorm("ln1", x, t.vector("ln1.weight", D, 1.3, 0.3), t.vector("ln1.bias", D, 0, 0.1), 1e-5f, D)
                .output();
        Value hT = t.op("Transpose", List.of(h), ofInts("perm", 1, 0));
        Value f = t.op("Gemm", List.of(hT, t.weight("w1", D, FF, 0.3), t.vector("b1", FF, 0, 0.1)), ofInt("transA", 1));
        Value out = t.op("Gemm", t.op("Relu", f), t.weight("w2", FF, D, 0.3));
        t.g.addOutput(t.layerNorm("ln2", t.op("Add", x, out), t.vector("ln2.weight", D, 1.0, 0.2),
                t.vector("ln2.bias", D, 0, 0.1), 1e-5f, D).output());
        NormCalibration c = calibrate(t).get("ln2");
        assertEquals(BlockKind.MLP, c.block().formula(), c.block().reason());
        double expected = SlancReference.plainMlp(fromMatMulB(t.data("w1"), D, FF), fromMatMulB(t.data("w2"), FF, D),
                toDoubles(t.data("ln1.weight")));
        assertClose(expected, c.scale(), "Gemm(transA=1) MLP");
    }

    @Test
    void normReadingANormTakesItsGain() {
        TestGraph t = new TestGraph(10);
        Value x = tokens(t, "emb", 9);
        Value h = t.layerNorm("ln_a", x, t.vector("ln_a.weight", D, 3.0, 0.5), t.vector("ln_a.bias", D, 0, 0.1), 1e-5f, D)
                .output();
        t.g.addOutput(t.layerNorm("ln_b", h, t.vector("ln_b.weight", D, 1.0, 0.1), t.vector("ln_b.bias", D, 0, 0.1), 1e-5f, D)
                .output());
        NormCalibration c = calibrate(t).get("ln_b");
        assertEquals(BlockKind.NORM, c.block().formula(), c.block().reason());
        double ss = 0;
        for (float g : t.data("ln_a.weight")) {
            ss += (double) g * g;
        }
        assertClose(Math.sqrt(ss), c.scale(), "||Gamma||_F");
    }

    @Test
    void firstNormBoundAddsEveryTableAndConstantFactor() {
        TestGraph t = new TestGraph(12);
        Value word = t.op("Gather", t.weight("word", 20, D, 1.0), t.input("ids", DataType.INT64, 1, 5));
        Value type = t.op("Gather", t.weight("token_type", 2, D, 0.5), t.input("type_ids", DataType.INT64, 1, 5));
        Value pos = t.op("Slice", t.weight("position", 8, D, 0.3), t.longs("p0", 0), t.longs("p1", 5), t.longs("pa", 0));
        Value scaled = t.op("Mul", t.op("Add", t.op("Add", word, type), pos), t.scalar("sqrt_d", 4f));
        t.g.addOutput(t.rmsNorm("ln0", scaled, t.vector("ln0.weight", D, 1.0, 0.1), 1e-5f, D).output());
        double expected = 4 * (SlancReference.maxRowNorm(t.data("word"), D) + SlancReference.maxRowNorm(t.data("token_type"), D)
                + SlancReference.maxRowNorm(t.data("position"), D));
        assertClose(expected, calibrate(t).get("ln0").scale(), "first norm from three tables times sqrt(d)");
    }
}
