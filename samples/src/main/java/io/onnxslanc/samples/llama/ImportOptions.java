package io.onnxslanc.samples.llama;

/**
 * Options for the generated Llama graph (opset 17).
 *
 * @param normStyle        how RMSNorms are written
 * @param epsilon          RMSNorm epsilon; llama2.c checkpoints were trained with 1e-5
 * @param pastKeyValues    add past_key_values.{i}.key/value inputs and present.{i}.key/value outputs
 * @param ropeTheta        RoPE base frequency (10000 in llama2.c and Llama-2)
 */
public record ImportOptions(NormStyle normStyle, float epsilon, boolean pastKeyValues, double ropeTheta) {

    public static final float LLAMA2C_EPSILON = 1e-5f;

    public ImportOptions {
        if (normStyle == null) throw new IllegalArgumentException("normStyle must not be null");
        if (!(epsilon >= 0) || Float.isInfinite(epsilon)) throw new IllegalArgumentException("epsilon must be finite and >= 0 (got " + epsilon + ")");
        if (!(ropeTheta > 0)) throw new IllegalArgumentException("ropeTheta must be positive (got " + ropeTheta + ")");
    }

    /** DECOMPOSED norms, eps 1e-5 (the checkpoint's), no KV cache, theta 10000. */
    public static ImportOptions defaults() {
        return new ImportOptions(NormStyle.DECOMPOSED, LLAMA2C_EPSILON, false, 10000.0);
    }

    public ImportOptions withNormStyle(NormStyle style) {
        return new ImportOptions(style, epsilon, pastKeyValues, ropeTheta);
    }

    public ImportOptions withEpsilon(float eps) {
        return new ImportOptions(normStyle, eps, pastKeyValues, ropeTheta);
    }

    public ImportOptions withPastKeyValues(boolean past) {
        return new ImportOptions(normStyle, epsilon, past, ropeTheta);
    }
}
