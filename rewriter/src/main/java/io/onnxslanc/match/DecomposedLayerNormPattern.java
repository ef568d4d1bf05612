package io.onnxslanc.match;

/**
 * LayerNorm in elementary ops, in every spelling the canonical view reads as
 * {@code (x - mean(x)) * rsqrt(var + eps) [* gain] [+ bias]} (see {@link DecomposedNorm}; two-pass or one-pass
 * variance; ONNX's own function body with its Flatten / Cast / Reshape). Starts at the normalising Div or Mul.
 */
public final class DecomposedLayerNormPattern extends DecomposedPattern {

    @Override
    public NormKind kind() {
        return NormKind.DECOMPOSED_LAYER_NORM;
    }
}
