package io.onnxslanc.match;

/**
 * com.microsoft SkipLayerNormalization: LayerNorm of input + skip (+ bias); inputs input, skip, gamma,
 * beta?, bias?; outputs output, mean, inv_std_var, input_skip_bias_sum; epsilon default 1e-12.
 */
public final class SkipLayerNormalizationPattern extends FusedNormPattern {
    public SkipLayerNormalizationPattern() {
        super(NormKind.SKIP_LAYER_NORMALIZATION, "SkipLayerNormalization", MICROSOFT, 1, 2, 3, 1e-12f);
    }
}
