package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormSite;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A norm together with the block in front of it, as {@link BlockFinder} identified it: one record per block kind,
 * each holding only what its formula reads (docs/method.md).
 *
 * <p>The accessors every caller needs are interface methods: {@link #site()}, {@link #kind()}, {@link #formula()},
 * {@link #feedingNorm()}, {@link #gamma()}, {@link #weights()}; kinds without them answer null / empty. What only
 * some kinds have (head counts, the cross-attention memory, the reason of an unknown block) is read from the record
 * itself, through {@link #formulaBlock()} where a {@link Final} may stand in front.
 */
public sealed interface NormBlock {

    /** The norm being calibrated. */
    NormSite site();

    /** Its block kind (FINAL for the last norm). */
    BlockKind kind();

    /** The formula used: equal to {@link #kind()} except for FINAL, where it is the kind of the block in front. */
    default BlockKind formula() {
        return kind();
    }

    /**
     * The norm whose gain is Gamma_prev / Gamma_post: the one feeding the block's first linear layer (for
     * cross-attention the one feeding W_q; for NORM the norm read directly); null for FIRST / UNKNOWN.
     */
    default NormSite feedingNorm() {
        return null;
    }

    /** The gain of {@link #feedingNorm()} (or a constant Mul right after it when the norm has none); null: identity. */
    default Value gamma() {
        return null;
    }

    /** The weights the formula reads, by role (insertion order: the order they appear in the formula). */
    default Map<WeightRole, WeightRef> weights() {
        return Map.of();
    }

    /** Why the block was not recognised (UNKNOWN), else null. */
    default String reason() {
        return null;
    }

    /** The block whose formula gives the scale: this one, or for {@link Final} the block in front of the last norm. */
    default NormBlock formulaBlock() {
        return this;
    }

    default boolean recognised() {
        return kind() != BlockKind.UNKNOWN;
    }

    /**
     * The head structure of a block with an attention part.
     *
     * @param nHeads   query heads
     * @param nKvHeads key/value heads
     * @param kvTiled  grouped kv heads: true when query head h reads kv head h mod n_kv (the kv heads repeated as a
     *                 whole, Tile); false for the usual interleaving h / (n_heads / n_kv)
     * @param source   how the head counts (and, for cross-attention, the memory) were found
     */
    record Heads(int nHeads, int nKvHeads, boolean kvTiled, String source) {
    }

    /**
     * A block with head structure: ATTENTION, CROSS_ATTENTION, PARALLEL, ATTENTION_OUTPUT, SANDWICH_ATTENTION, and
     * PROJECTION (its groups in place of heads).
     */
    sealed interface WithHeads extends NormBlock {
        Heads heads();
    }

    /** No other norm upstream (the embedding norm). */
    record First(NormSite site) implements NormBlock {
        @Override
        public BlockKind kind() {
            return BlockKind.FIRST;
        }
    }

    /** Not recognised: left unscaled, with the reason. */
    record Unknown(NormSite site, String reason) implements NormBlock {
        @Override
        public BlockKind kind() {
            return BlockKind.UNKNOWN;
        }
    }

    /** The norm reads another norm's output directly. */
    record Norm(NormSite site, NormSite feedingNorm, Value gamma) implements NormBlock {
        @Override
        public BlockKind kind() {
            return BlockKind.NORM;
        }
    }

    /** Residual + plain MLP: W1, W2. */
    record Mlp(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights) implements NormBlock {
        public Mlp {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.MLP;
        }
    }

    /** Gated MLP: GATE, UP, DOWN. */
    record GatedMlp(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights)
            implements NormBlock {
        public GatedMlp {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.GATED_MLP;
        }
    }

    /** Residual + self-attention: V, O. */
    record Attention(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights, Heads heads)
            implements WithHeads {
        public Attention {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.ATTENTION;
        }
    }

    /**
     * Residual + cross-attention whose V reads the encoder memory: V, O.
     *
     * @param memoryNorm  the norm producing the encoder memory that W_v reads (null: the memory is a graph input,
     *                    taken as normalised with unit gain)
     * @param memoryGamma Gamma_mem, the gain of {@code memoryNorm}; null means identity
     */
    record CrossAttention(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights,
                          Heads heads, NormSite memoryNorm, Value memoryGamma) implements WithHeads {
        public CrossAttention {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.CROSS_ATTENTION;
        }
    }

    /** Residual + attention and MLP side by side on one norm: V, O and W1, W2 or GATE, UP, DOWN. */
    record Parallel(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights, Heads heads)
            implements WithHeads {
        public Parallel {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.PARALLEL;
        }

        /** True when the MLP branch is gated. */
        public boolean gatedMlp() {
            return weights.containsKey(WeightRole.GATE);
        }
    }

    /**
     * A norm over groups (heads) of one projection of a norm's output, no residual (Qwen3 / Gemma3 q_norm, k_norm):
     * PROJECTION; {@code heads} holds the number of groups in both counts.
     */
    record Projection(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights, Heads heads)
            implements WithHeads {
        public Projection {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.PROJECTION;
        }
    }

    /** A norm reading an attention block's output alone, no residual (a sandwich's inner norm): V, O. */
    record AttentionOutput(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights,
                           Heads heads) implements WithHeads {
        public AttentionOutput {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.ATTENTION_OUTPUT;
        }
    }

    /**
     * Residual + an attention sandwich x + norm_out(attn(norm_in(x))) (Gemma2 / Gemma3): V, O of the attention.
     *
     * @param feedingNorm norm_in, whose gain {@code gamma} is Gamma_in
     * @param innerNorm   norm_out, the norm reading the attention output
     * @param innerGamma  Gamma_out, its gain; null means identity
     */
    record SandwichAttention(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights,
                             Heads heads, NormSite innerNorm, Value innerGamma) implements WithHeads {
        public SandwichAttention {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.SANDWICH_ATTENTION;
        }
    }

    /**
     * Residual + a gated-MLP sandwich x + norm_out(mlp(norm_in(x))): the formula reads only Gamma_in ({@code gamma})
     * and Gamma_out ({@code innerGamma}); the MLP's weights are kept for the report.
     */
    record SandwichMlp(NormSite site, NormSite feedingNorm, Value gamma, Map<WeightRole, WeightRef> weights,
                       NormSite innerNorm, Value innerGamma) implements NormBlock {
        public SandwichMlp {
            weights = frozen(weights);
        }

        @Override
        public BlockKind kind() {
            return BlockKind.SANDWICH_MLP;
        }
    }

    /** The gain of a second norm the formula reads (cross-attention memory, sandwich inner norm), else null. */
    default Value secondGamma() {
        NormBlock f = formulaBlock();
        if (f instanceof CrossAttention c) {
            return c.memoryGamma();
        }
        if (f instanceof SandwichAttention s) {
            return s.innerGamma();
        }
        return f instanceof SandwichMlp s ? s.innerGamma() : null;
    }

    /** The last norm (no norm downstream): it takes the formula of the block in front of it, {@code front}. */
    record Final(NormBlock front) implements NormBlock {
        public Final {
            if (front instanceof Final || !front.recognised() || front.kind() == BlockKind.FIRST) {
                throw new IllegalArgumentException("a final norm wraps a recognised block, not " + front.kind());
            }
        }

        @Override
        public NormSite site() {
            return front.site();
        }

        @Override
        public BlockKind kind() {
            return BlockKind.FINAL;
        }

        @Override
        public BlockKind formula() {
            return front.kind();
        }

        @Override
        public NormSite feedingNorm() {
            return front.feedingNorm();
        }

        @Override
        public Value gamma() {
            return front.gamma();
        }

        @Override
        public Map<WeightRole, WeightRef> weights() {
            return front.weights();
        }

        @Override
        public NormBlock formulaBlock() {
            return front;
        }
    }

    private static Map<WeightRole, WeightRef> frozen(Map<WeightRole, WeightRef> weights) {
        return Collections.unmodifiableMap(new LinkedHashMap<>(weights));
    }
}
