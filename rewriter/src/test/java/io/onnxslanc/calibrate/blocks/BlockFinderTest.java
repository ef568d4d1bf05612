package io.onnxslanc.calibrate.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.TestGraph;
import io.onnxslanc.calibrate.Transformers;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Value;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

public class BlockFinderTest {

    private static Map<String, NormBlock> byName(TestGraph t) {
        t.g.verify();
        return BlockFinder.findAll(t.g, t.sites).stream()
                .collect(Collectors.toMap(b -> b.site().name(), Function.identity()));
    }

    /** The head counts of a block with an attention part (or of the one in front of a final norm). */
    public static NormBlock.Heads heads(NormBlock b) {
        return ((NormBlock.WithHeads) b.formulaBlock()).heads();
    }

    private static String weight(NormBlock b, WeightRole role) {
        return b.weights().get(role).name();
    }

    @Test
    void llamaPreNormWithGroupedQueryAttention() {
        TestGraph t = Transformers.llama(1);
        Map<String, NormBlock> blocks = byName(t);

        assertEquals(BlockKind.FIRST, blocks.get("l0/input_ln").kind());

        NormBlock att0 = blocks.get("l0/post_ln");
        assertEquals(BlockKind.ATTENTION, att0.kind(), att0.reason());
        assertEquals("l0/input_ln", att0.feedingNorm().name()); // pre-norm: the block's own input norm
        assertEquals("l0.input_ln.weight", att0.gamma().name());
        assertEquals("l0.wv", weight(att0, WeightRole.V));
        assertEquals("l0.wo", weight(att0, WeightRole.O));
        assertEquals(8, heads(att0).nHeads());
        assertEquals(4, heads(att0).nKvHeads());
        assertTrue(heads(att0).source().contains("V Reshape"), heads(att0).source());
        assertFalse(att0.weights().get(WeightRole.V).storedIsMath()); // MatMul B = W^T
        assertEquals(4 * 4, att0.weights().get(WeightRole.V).outFeatures());

        NormBlock mlp0 = blocks.get("l1/input_ln");
        assertEquals(BlockKind.GATED_MLP, mlp0.kind(), mlp0.reason());
        assertEquals("l0/post_ln", mlp0.feedingNorm().name());
        assertEquals("l0.post_ln.weight", mlp0.gamma().name());
        assertEquals("l0.wgate", weight(mlp0, WeightRole.GATE)); // the Sigmoid side is the gate
        assertEquals("l0.wup", weight(mlp0, WeightRole.UP));
        assertEquals("l0.wdown", weight(mlp0, WeightRole.DOWN));

        NormBlock att1 = blocks.get("l1/post_ln");
        assertEquals(BlockKind.ATTENTION, att1.kind(), att1.reason());
        assertTrue(att1.weights().get(WeightRole.V).storedIsMath(), "Gemm(transB=1) stores W itself");
        assertTrue(att1.weights().get(WeightRole.O).storedIsMath(), "initializer behind Transpose stores W itself");
        assertEquals(8, heads(att1).nHeads());
        assertEquals(4, heads(att1).nKvHeads());

        NormBlock fin = blocks.get("final_ln");
        assertEquals(BlockKind.FINAL, fin.kind(), fin.reason());
        assertEquals(BlockKind.GATED_MLP, fin.formula());
        assertEquals("l1/post_ln", fin.feedingNorm().name());
        assertEquals("l1.wdown", weight(fin, WeightRole.DOWN));
        assertTrue(fin.weights().get(WeightRole.DOWN).storedIsMath());
    }

    @Test
    void bertPostNormWithBiasesAndDecomposedGelu() {
        TestGraph t = Transformers.bert(2);
        Map<String, NormBlock> blocks = byName(t);

        assertEquals(BlockKind.FIRST, blocks.get("emb_ln").kind());

        NormBlock a0 = blocks.get("l0/attn_ln");
        assertEquals(BlockKind.ATTENTION, a0.kind(), a0.reason());
        assertEquals("emb_ln", a0.feedingNorm().name()); // post-norm: the norm that produced the block's input
        assertEquals("emb_ln.weight", a0.gamma().name());
        assertEquals(List.of("l0.wv", "l0.wo"), a0.weights().values().stream().map(WeightRef::name).toList());
        assertEquals(4, heads(a0).nHeads());
        assertEquals(4, heads(a0).nKvHeads());
        assertTrue(heads(a0).source().contains(", 4, 6]"), heads(a0).source()); // [1, 5, 4, 6] once the static Shape dims fold

        NormBlock m0 = blocks.get("l0/out_ln");
        assertEquals(BlockKind.MLP, m0.kind(), m0.reason());
        assertEquals("l0/attn_ln", m0.feedingNorm().name());
        assertEquals("l0.attn_ln.weight", m0.gamma().name());
        assertEquals(List.of("l0.w1", "l0.w2"), m0.weights().values().stream().map(WeightRef::name).toList());

        NormBlock a1 = blocks.get("l1/attn_ln");
        assertEquals(BlockKind.ATTENTION, a1.kind(), a1.reason());
        assertEquals("l0/out_ln", a1.feedingNorm().name());

        NormBlock fin = blocks.get("l1/out_ln");
        assertEquals(BlockKind.FINAL, fin.kind(), fin.reason());
        assertEquals(BlockKind.MLP, fin.formula());
        assertEquals("l1.attn_ln.weight", fin.gamma().name());
    }

    @Test
    void packedQkvWithSplitTakesTheValueRows() {
        for (int variant = 0; variant < 3; variant++) {
            TestGraph t = Transformers.gpt2(3, variant == 1, variant == 2);
            Map<String, NormBlock> blocks = byName(t);
            assertEquals(BlockKind.FIRST, blocks.get("ln_1").kind());
            NormBlock a = blocks.get("ln_2");
            assertEquals(BlockKind.ATTENTION, a.kind(), a.reason());
            WeightRef wv = a.weights().get(WeightRole.V);
            assertEquals("c_attn.weight", wv.name());
            assertEquals(2 * Transformers.GD, wv.outFrom(), "V is the third block of the packed columns");
            assertEquals(3 * Transformers.GD, wv.outTo());
            assertEquals(Transformers.GHEADS, heads(a).nHeads());
            NormBlock fin = blocks.get("ln_f");
            assertEquals(BlockKind.FINAL, fin.kind(), fin.reason());
            assertEquals(BlockKind.MLP, fin.formula());
            assertEquals("mlp_proj.weight", weight(fin, WeightRole.W2)); // FP16 behind Cast
            assertEquals(DataType.FLOAT16, fin.weights().get(WeightRole.W2).tensor().dataType());
        }
    }

    @Test
    void unrecognisedBlockIsReportedWithReason() {
        TestGraph t = new TestGraph(4);
        Value x = t.input("x", DataType.FLOAT, 1, 3, 8);
        Value y = t.input("y", DataType.FLOAT, 1, 3, 8);
        Value h = t.rmsNorm("n0", x, t.vector("g0", 8, 1, 0.1), 1e-5f, 8).output();
        Value r = t.op("Add", h, t.op("Relu", y));
        Value n1 = t.rmsNorm("n1", r, t.vector("g1", 8, 1, 0.1), 1e-5f, 8).output();
        Value z = t.op("Mul", n1, y); // not a residual Add
        t.rmsNorm("n2", z, t.vector("g2", 8, 1, 0.1), 1e-5f, 8);
        Map<String, NormBlock> blocks = byName(t);
        NormBlock b1 = blocks.get("n1");
        assertEquals(BlockKind.UNKNOWN, b1.kind());
        assertEquals("input is Add(SimplifiedLayerNormalization(...), Relu(...)) with no MatMul weight found", b1.reason());
        NormBlock b2 = blocks.get("n2");
        assertEquals(BlockKind.UNKNOWN, b2.kind());
        assertTrue(b2.reason().startsWith("input is Mul(...), not a residual Add"), b2.reason());
        assertNull(b2.feedingNorm());
    }

    @Test
    void linearWithoutNormInFrontIsUnknown() {
        TestGraph t = new TestGraph(5);
        Value x = t.input("x", DataType.FLOAT, 1, 3, 8);
        Value y = t.input("y", DataType.FLOAT, 1, 3, 8);
        Value h = t.rmsNorm("n0", x, t.vector("g0", 8, 1, 0.1), 1e-5f, 8).output();
        // an MLP whose W_1 reads a graph input instead of a norm output
        Value f = t.op("Relu", t.matMul(y, t.weight("w1", 8, 16, 0.2)));
        Value r = t.op("Add", h, t.matMul(f, t.weight("w2", 16, 8, 0.2)));
        t.rmsNorm("n1", r, t.vector("g1", 8, 1, 0.1), 1e-5f, 8);
        NormBlock b = byName(t).get("n1");
        assertEquals(BlockKind.UNKNOWN, b.kind());
        assertTrue(b.reason().contains("the input of W_1 'w1' is 'y', not the output of a recognised norm"), b.reason());
    }

    @Test
    void fusedOnnxRuntimeForms() {
        TestGraph t = Transformers.fusedLlama(6, false);
        Map<String, NormBlock> blocks = byName(t);
        assertEquals(BlockKind.FIRST, blocks.get("input_ln").kind());
        NormBlock a = blocks.get("post_ln");
        assertEquals(BlockKind.ATTENTION, a.kind(), a.reason());
        assertEquals(8, heads(a).nHeads());
        assertEquals(4, heads(a).nKvHeads());
        assertTrue(heads(a).source().startsWith("GroupQueryAttention"), heads(a).source());
        assertEquals("wv", weight(a, WeightRole.V));
        assertEquals("wo_flat", weight(a, WeightRole.O)); // behind a Reshape
        NormBlock fin = blocks.get("final_ln");
        assertEquals(BlockKind.FINAL, fin.kind(), fin.reason());
        assertEquals(BlockKind.MLP, fin.formula());
        assertEquals("post_ln", fin.feedingNorm().name(), "the Skip norm's output 0 feeds W_1");

        TestGraph p = Transformers.fusedLlama(7, true);
        NormBlock packed = byName(p).get("post_ln");
        assertEquals(BlockKind.ATTENTION, packed.kind(), packed.reason());
        WeightRef wv = packed.weights().get(WeightRole.V);
        assertEquals("qkv", wv.name());
        assertEquals(2 * Transformers.LD, wv.outFrom());
        assertEquals(8, heads(packed).nHeads());
        assertEquals(8, heads(packed).nKvHeads());
    }
}
