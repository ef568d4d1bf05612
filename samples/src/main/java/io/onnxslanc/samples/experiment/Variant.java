package io.onnxslanc.samples.experiment;

import io.onnxslanc.check.emulate.Emulation;

/** The five ways the experiment runs each amplified model. */
public enum Variant {
    /** Plain ONNX Runtime on the FP32 model. */
    FP32("(a)", "FP32", null, "the FP32 model"),
    /** Every activation and weight rounded to FP16, arithmetic in FP32 (norm steps included). */
    FP16_STORAGE("(b)", "FP16 storage", Emulation.Mode.FP16_STORAGE, "FP16 conversion"),
    /** FP16 storage plus norms whose sums of squares are accumulated in FP16. */
    NAIVE_NORMS("(c)", "FP16 naive norms", Emulation.Mode.FP16_NAIVE_NORMS, "FP16 conversion"),
    /** SLaNC calibration first, then the naive-norm emulation. */
    SLANC("(d)", "FP16 + SLaNC", Emulation.Mode.FP16_NAIVE_NORMS, "SLaNC + FP16 conversion"),
    /** FP16 storage, but the norms computed in FP32 between FP16 tensors (the peers' way). */
    FP32_NORMS("(e)", "FP16, norms FP32", Emulation.Mode.FP16_FP32_NORMS, "FP16 conversion, normsFp32"),
    /**
     * Not one of the paper's variants: SLaNC, then --fp32-fallback auto (a power-of-two rescale of the residual stream
     * where that helps, FP32 islands for what still overflows), under the naive-norm emulation with those islands in
     * FP32. Run where SLaNC alone is not enough.
     */
    FALLBACK("(f)", "SLaNC + FP32 fallback", Emulation.Mode.FP16_NAIVE_NORMS, "--fp32-fallback auto");

    /** The paper's five variants, (a) to (e), run at every factor. */
    public static final java.util.Set<Variant> PAPER = java.util.EnumSet.range(FP32, FP32_NORMS);

    private final String tag;
    private final String label;
    private final Emulation.Mode emulation;
    private final String deployable;

    Variant(String tag, String label, Emulation.Mode emulation, String deployable) {
        this.tag = tag;
        this.label = label;
        this.emulation = emulation;
        this.deployable = deployable;
    }

    /** "(a)" .. "(f)". */
    public String tag() {
        return tag;
    }

    public String label() {
        return tag + " " + label;
    }

    /** The CPU emulation that runs it, null for FP32. */
    public Emulation.Mode emulation() {
        return emulation;
    }

    /** What its deployable model is. */
    public String deployable() {
        return deployable;
    }

    /** Whether it runs the SLaNC-calibrated graph. */
    public boolean calibrated() {
        return this == SLANC;
    }
}
