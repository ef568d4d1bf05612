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
 *                    in front (ATTENTION, GATED_MLP or MLP); FIRST and UNKNOWN for those
 * @param feedingNorm the norm whose output feeds the block's first linear layer (null for FIRST / UNKNOWN)
 * @param gamma       Gamma_prev / Gamma_post: the gain of {@code feedingNorm} (or a constant Mul right after it
 *                    when the norm has none); null means identity
 * @param weights     the weights the formula reads, by role (insertion order: the order they appear in the formula)
 * @param nHeads      query heads (attention), else 0
 * @param nKvHeads    key/value heads (attention), else 0
 * @param headsSource how the head counts were found (attention), else null
 * @param reason      why the block was not recognised (UNKNOWN), else null
 */
public record NormBlock(NormSite site, BlockKind kind, BlockKind formula, NormSite feedingNorm, Value gamma,
                        Map<WeightRole, WeightRef> weights, int nHeads, int nKvHeads, String headsSource, String reason) {

    public NormBlock {
        weights = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(weights));
    }

    static NormBlock first(NormSite site) {
        return new NormBlock(site, BlockKind.FIRST, BlockKind.FIRST, null, null, Map.of(), 0, 0, null, null);
    }

    static NormBlock unknown(NormSite site, String reason) {
        return new NormBlock(site, BlockKind.UNKNOWN, BlockKind.UNKNOWN, null, null, Map.of(), 0, 0, null, reason);
    }

    /** The same block reported as the final norm's. */
    NormBlock asFinal() {
        return new NormBlock(site, BlockKind.FINAL, formula, feedingNorm, gamma, weights, nHeads, nKvHeads, headsSource, reason);
    }

    public boolean recognised() {
        return kind != BlockKind.UNKNOWN;
    }
}
