package io.onnxslanc.calibrate;

import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormSite;
import java.util.Map;

/**
 * A norm together with the block in front of it, as {@link BlockFinder} identified it.
 *
 * @param site        the norm being calibrated
 * @param kind        its block kind (FINAL for the last norm)
 * @param formula     the formula used: equal to {@code kind} except for FINAL, where it is the kind of the block
 *                    in front; FIRST and UNKNOWN for those
 * @param feedingNorm the norm whose gain is Gamma_prev / Gamma_post: the one feeding the block's first linear layer
 *                    (for cross-attention the one feeding W_q; for NORM the norm read directly); null for FIRST /
 *                    UNKNOWN
 * @param gamma       the gain of {@code feedingNorm} (or a constant Mul right after it when the norm has none);
 *                    null means identity
 * @param weights     the weights the formula reads, by role (insertion order: the order they appear in the formula)
 * @param nHeads      query heads (formulas with attention), else 0
 * @param nKvHeads    key/value heads (formulas with attention), else 0
 * @param headsSource how the head counts (and, for cross-attention, the memory) were found, else null
 * @param reason      why the block was not recognised (UNKNOWN), else null
 * @param memoryNorm  cross-attention: the norm producing the encoder memory that W_v reads (null: the memory is a
 *                    graph input, taken as normalised with unit gain); else null
 * @param memoryGamma cross-attention: Gamma_mem, the gain of {@code memoryNorm}; null means identity
 * @param kvTiled     attention with grouped kv heads: true when query head h reads kv head h mod n_kv (the kv heads
 *                    repeated as a whole, Tile); false for the usual interleaving h / (n_heads / n_kv)
 */
public record NormBlock(NormSite site, BlockKind kind, BlockKind formula, NormSite feedingNorm, Value gamma,
                        Map<WeightRole, WeightRef> weights, int nHeads, int nKvHeads, String headsSource, String reason,
                        NormSite memoryNorm, Value memoryGamma, boolean kvTiled) {

    public NormBlock {
        weights = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(weights));
    }

    /** A block without cross-attention memory and with interleaved kv heads. */
    public NormBlock(NormSite site, BlockKind kind, BlockKind formula, NormSite feedingNorm, Value gamma,
                     Map<WeightRole, WeightRef> weights, int nHeads, int nKvHeads, String headsSource, String reason) {
        this(site, kind, formula, feedingNorm, gamma, weights, nHeads, nKvHeads, headsSource, reason, null, null, false);
    }

    /** The inner norm of a sandwich block (SANDWICH_ATTENTION / SANDWICH_MLP), held in the memory-norm slot. */
    public NormSite innerNorm() {
        return memoryNorm;
    }

    /** That inner norm's gain (Gamma_out), or null (identity). */
    public Value innerGamma() {
        return memoryGamma;
    }

    static NormBlock first(NormSite site) {
        return new NormBlock(site, BlockKind.FIRST, BlockKind.FIRST, null, null, Map.of(), 0, 0, null, null);
    }

    static NormBlock unknown(NormSite site, String reason) {
        return new NormBlock(site, BlockKind.UNKNOWN, BlockKind.UNKNOWN, null, null, Map.of(), 0, 0, null, reason);
    }

    /** The same block reported as the final norm's. */
    NormBlock asFinal() {
        return new NormBlock(site, BlockKind.FINAL, formula, feedingNorm, gamma, weights, nHeads, nKvHeads, headsSource,
                reason, memoryNorm, memoryGamma, kvTiled);
    }

    public boolean recognised() {
        return kind != BlockKind.UNKNOWN;
    }
}
