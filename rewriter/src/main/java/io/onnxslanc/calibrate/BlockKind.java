package io.onnxslanc.calibrate;

/** What stands in front of a norm, which decides its SLaNC formula. */
public enum BlockKind {
    /** No other norm upstream (the embedding norm): s = 1. */
    FIRST("first"),
    /** Residual + attention: s = ||(I + W_o W_v) Gamma_prev||_F. */
    ATTENTION("attention"),
    /** Gated (SwiGLU / GeGLU) MLP: s = ||W_down W_up Gamma_post||_F ||W_gate Gamma_post||_2. */
    GATED_MLP("gated-mlp"),
    /** Residual + plain MLP: s = ||(I + W_2 W_1) Gamma_prev||_F. */
    MLP("mlp"),
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
}
