package io.onnxslanc.match;

/** The forms of LayerNorm / RMSNorm this tool recognises. */
public enum NormKind {
    LAYER_NORMALIZATION("LayerNormalization", false),
    RMS_NORMALIZATION("RMSNormalization", true),
    SIMPLIFIED_LAYER_NORMALIZATION("SimplifiedLayerNormalization", true),
    SKIP_LAYER_NORMALIZATION("SkipLayerNormalization", false),
    SKIP_SIMPLIFIED_LAYER_NORMALIZATION("SkipSimplifiedLayerNormalization", true),
    DECOMPOSED_LAYER_NORM("decomposed LayerNorm", false),
    DECOMPOSED_RMS_NORM("decomposed RMSNorm", true);

    private final String label;
    private final boolean rms;

    NormKind(String label, boolean rms) {
        this.label = label;
        this.rms = rms;
    }

    public String label() {
        return label;
    }

    /** RMS-type norms have no mean subtraction. */
    public boolean isRms() {
        return rms;
    }

    public boolean hasSkipInput() {
        return this == SKIP_LAYER_NORMALIZATION || this == SKIP_SIMPLIFIED_LAYER_NORMALIZATION;
    }
}
