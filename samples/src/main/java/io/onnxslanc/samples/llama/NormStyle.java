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
    FUSED
}
