package io.onnxslanc.samples.llama;

/** How the RMSNorms of the generated graph are written. */
public enum NormStyle {
    /**
     * As PyTorch's exporter writes Hugging Face LlamaRMSNorm: Pow(x, 2), ReduceMean(-1), Add(eps),
     * Sqrt, Reciprocal, Mul(x, .), Mul(gamma, .), with the exponent and eps as Constant nodes.
     */
    DECOMPOSED,
    /** DECOMPOSED with HF's hidden_states.to(float32) ... .to(input_dtype) written as Cast nodes. */
    DECOMPOSED_CAST,
    /**
     * As ONNX Runtime's optimizer leaves them: SimplifiedLayerNormalization ("" domain) for the first
     * norm of each layer and the final norm, com.microsoft SkipSimplifiedLayerNormalization (which
     * also emits the residual sum) for the norm after the attention residual Add.
     */
    FUSED;

    /** From the command-line spelling: decomposed, decomposed-cast or fused (any case, '_' for '-' too). */
    public static NormStyle parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
            case "decomposed" -> DECOMPOSED;
            case "decomposed-cast" -> DECOMPOSED_CAST;
            case "fused" -> FUSED;
            default -> throw new IllegalArgumentException("--norm must be decomposed, decomposed-cast or fused, not '" + name + "'");
        };
    }
}
