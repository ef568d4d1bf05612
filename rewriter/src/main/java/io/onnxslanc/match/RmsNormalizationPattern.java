package io.onnxslanc.match;

/**
 * ONNX RMSNormalization (opset 23; X, scale; axis, epsilon default 1e-5, stash_type).
 */
public final class RmsNormalizationPattern extends FusedNormPattern {
    public RmsNormalizationPattern() {
        super(NormKind.RMS_NORMALIZATION, "RMSNormalization", DEFAULT_DOMAINS, -1, 1, -1, 1e-5f);
    }
}
