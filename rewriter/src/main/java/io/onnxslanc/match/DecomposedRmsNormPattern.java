package io.onnxslanc.match;

/**
 * RMSNorm in elementary ops, in every spelling the canonical view reads as {@code x * rsqrt(mean(x^2) + eps) [* gain]}
 * (see {@link DecomposedNorm}): Hugging Face's {@code hidden.to(float32)} Casts, torch's {@code Div(1, Sqrt)},
 * {@code Pow(v, -0.5)}, {@code Reciprocal(Sqrt)}, {@code x * x}, {@code ReduceSum / d}, gains such as {@code 1 + w}.
 * Starts at the normalising Div or Mul.
 */
public final class DecomposedRmsNormPattern extends DecomposedPattern {

    @Override
    public NormKind kind() {
        return NormKind.DECOMPOSED_RMS_NORM;
    }
}
