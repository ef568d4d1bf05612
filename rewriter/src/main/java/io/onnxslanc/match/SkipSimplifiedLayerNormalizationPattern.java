package io.onnxslanc.match;

/**
 * com.microsoft SkipSimplifiedLayerNormalization: RMSNorm of input + skip (+ bias); inputs input, skip,
 * gamma, bias?; outputs output, mean, inv_std_var, input_skip_bias_sum; epsilon default 1e-12.
 */
public final class SkipSimplifiedLayerNormalizationPattern extends FusedNormPattern {
    public SkipSimplifiedLayerNormalizationPattern() {
        super(NormKind.SKIP_SIMPLIFIED_LAYER_NORMALIZATION, "SkipSimplifiedLayerNormalization", MICROSOFT, 1, 2, -1, 1e-12f);
    }
}
