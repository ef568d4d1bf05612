package io.onnxslanc.calibrate.blocks;

/** What stands in front of a norm, which decides its SLaNC formula (docs/method.md). */
public enum BlockKind {
    /** No other norm upstream (the embedding norm): s from the embedding tables, or 1 (the paper's rule). */
    FIRST("first"),
    /** Residual + attention: s = ||(I + W_o W_v) Gamma_prev||_F. */
    ATTENTION("attention"),
    /**
     * Residual + cross-attention whose V reads the encoder memory:
     * s^2 = ||Gamma_prev||_F^2 + ||W_o W_v Gamma_mem||_F^2.
     */
    CROSS_ATTENTION("cross-attention"),
    /** Gated (SwiGLU / GeGLU) MLP: s = ||W_down W_up Gamma_post||_F ||W_gate Gamma_post||_2. */
    GATED_MLP("gated-mlp"),
    /** Residual + plain MLP: s = ||(I + W_2 W_1) Gamma_prev||_F. */
    MLP("mlp"),
    /**
     * Residual + attention and MLP side by side on one norm (GPT-J, NeoX, Falcon):
     * s = ||(I + W_o W_v + W_2 W_1) Gamma||_F; with a gated MLP s^2 = ||(I + W_o W_v) Gamma||_F^2
     * + (||W_down W_up Gamma||_F ||W_gate Gamma||_2)^2.
     */
    PARALLEL("parallel"),
    /**
     * The norm reads an attention block's output alone, no residual (Gemma2 / Gemma3 post_attention_layernorm, the
     * inner norm of a sandwich): s = ||W_o W_v Gamma||_F.
     */
    ATTENTION_OUTPUT("attention-output"),
    /**
     * Residual + an attention sandwich, x + norm_out(attn(norm_in(x))) (Gemma2 / Gemma3 pre_feedforward_layernorm):
     * s = ||(I + c Gamma_out W_o W_v) Gamma_in||_F, c = sqrt(d) / ||W_o W_v Gamma_in||_F (the inner norm linearised).
     */
    SANDWICH_ATTENTION("sandwich-attention"),
    /**
     * Residual + a gated-MLP sandwich, x + norm_out(mlp(norm_in(x))) (Gemma2 / Gemma3 input_layernorm and final
     * norm): s = sqrt(||Gamma_in||_F^2 + ||Gamma_out||_F^2).
     */
    SANDWICH_MLP("sandwich-mlp"),
    /**
     * The norm normalises groups (heads) of one linear projection of a norm's output, with no residual (Qwen3 /
     * Gemma3 q_norm and k_norm over head_dim): s = ||W Gamma||_F / sqrt(out / d), the root mean square over groups.
     */
    PROJECTION("projection"),
    /** The norm reads another norm's output directly (a stack's final norm after a post-norm layer): s = ||Gamma||_F. */
    NORM("norm"),
    /** The last norm (no norm downstream): the factor of the block in front of it. */
    FINAL("final"),
    /** Not recognised: left unscaled, with the reason. */
    UNKNOWN("unknown");

    private final String label;

    BlockKind(String label) {
        this.label = label;
    }

    /** The name used in reports. */
    public String label() {
        return label;
    }

    /** Formulas with an attention part (they report head counts). */
    public boolean hasAttention() {
        return this == ATTENTION || this == CROSS_ATTENTION || this == PARALLEL || this == ATTENTION_OUTPUT
                || this == SANDWICH_ATTENTION;
    }
}
