package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.Set;

/**
 * Recognises an attention block from its output projection W_o: back from W_o's input through layout ops to the
 * probs @ V MatMul (or a fused com.microsoft attention op), then along V to the W_v projection.
 *
 * <p>The entry point of the attention walks; each form has its own class: {@link UnfusedAttention} (MatMul /
 * Einsum cores), {@link FusedAttention} (the fused ops), {@link ValuePath} and {@link PackedProjections} (the way
 * from V back to W_v), {@link AttentionHeads} (head counts and kv head order).
 */
final class AttentionBlocks {
    private static final String MS = "com.microsoft";

    /**
     * W_v (restricted to V's rows for packed projections), the head counts and how they were found, the attention
     * probabilities (the way to the query side) and the kv head order.
     */
    record Attention(LinearLayer wv, int nHeads, int nKvHeads, String headsSource, Value probs, boolean kvTiled) {
        Attention(LinearLayer wv, int nHeads, int nKvHeads, String headsSource) {
            this(wv, nHeads, nKvHeads, headsSource, null, false);
        }

        Attention withProbs(Value p) {
            return new Attention(wv, nHeads, nKvHeads, headsSource, p, kvTiled);
        }
    }

    private AttentionBlocks() {
    }

    /**
     * Null when W_o's input does not come from an attention core (then the block may be an MLP); else the
     * attention or the reason it could not be completed.
     */
    static Found<Attention> match(LinearLayer wo) {
        Value u = GraphOps.through(wo.input(), GraphOps.LAYOUT_OPS);
        Node core = u.producer();
        if (core == null) {
            return null;
        }
        if (core.is("MatMul") && !GraphOps.isConstant(core.input(0)) && !GraphOps.isConstant(core.input(1))) {
            return UnfusedAttention.unfused(wo, core, core.input(0), core.input(1)).map(a -> a.withProbs(core.input(0)));
        }
        int vOperand = Einsums.valueOperand(core);
        if (vOperand >= 0) {
            Value probs = core.input(1 - vOperand);
            return UnfusedAttention.unfused(wo, core, probs, core.input(vOperand)).map(a -> a.withProbs(probs));
        }
        if (core.is("Attention") && u == core.output(0)) {
            // ai.onnx Attention (opset 23): torch's dynamo exporter writes SDPA as it
            return FusedAttention.onnxAttention(wo, core);
        }
        if (core.domain().equals(MS) && u == core.output(0)
                && Set.of("MultiHeadAttention", "GroupQueryAttention", "Attention").contains(core.opType())) {
            return FusedAttention.fused(wo, core);
        }
        return null;
    }

    /** W_v reads what W_o writes: the check every attention form makes once W_v is known. */
    static Found<String> checkDims(LinearLayer wv, LinearLayer wo) {
        if (wv.weight().inFeatures() != wo.weight().outFeatures()) {
            return Found.fail("W_v '" + wv.weight().name() + "' reads " + wv.weight().inFeatures() + " features but W_o '"
                    + wo.weight().name() + "' writes " + wo.weight().outFeatures());
        }
        return Found.of("ok");
    }
}
