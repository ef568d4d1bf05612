package io.onnxslanc.samples.llama;

/**
 * The weights of a Llama decoder, with their ONNX initializer names and shapes. Linear layers are
 * stored as ONNX MatMul B operands, i.e. W^T with shape [in, out] (y = x B), although the names keep
 * the Meta/llama2.c ".weight" convention.
 */
public enum LlamaTensor {
    TOKEN_EMBEDDING("tok_embeddings.weight", false),
    ATTENTION_NORM("layers.%d.attention_norm.weight", true),
    WQ("layers.%d.attention.wq.weight", true),
    WK("layers.%d.attention.wk.weight", true),
    WV("layers.%d.attention.wv.weight", true),
    WO("layers.%d.attention.wo.weight", true),
    FFN_NORM("layers.%d.ffn_norm.weight", true),
    /** gate projection */
    W1("layers.%d.feed_forward.w1.weight", true),
    /** down projection */
    W2("layers.%d.feed_forward.w2.weight", true),
    /** up projection */
    W3("layers.%d.feed_forward.w3.weight", true),
    FINAL_NORM("norm.weight", false),
    /** only when the classifier is not shared with the token embedding */
    CLASSIFIER("output.weight", false);

    private final String pattern;
    private final boolean perLayer;

    LlamaTensor(String pattern, boolean perLayer) {
        this.pattern = pattern;
        this.perLayer = perLayer;
    }

    public boolean perLayer() {
        return perLayer;
    }

    public String onnxName(int layer) {
        return perLayer ? String.format(pattern, layer) : pattern;
    }

    /** Shape in the ONNX graph (MatMul weights as [in, out]). */
    public long[] onnxDims(LlamaConfig c) {
        long d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), v = c.vocabSize();
        return switch (this) {
            case TOKEN_EMBEDDING -> new long[] {v, d};
            case ATTENTION_NORM, FFN_NORM, FINAL_NORM -> new long[] {d};
            case WQ, WO -> new long[] {d, d};
            case WK, WV -> new long[] {d, kv};
            case W1, W3 -> new long[] {d, h};
            case W2 -> new long[] {h, d};
            case CLASSIFIER -> new long[] {d, v};
        };
    }

    /** True for the linear layers, whose math layout W (out x in) is the transpose of the ONNX one. */
    public boolean isMatMulWeight() {
        return switch (this) {
            case WQ, WK, WV, WO, W1, W2, W3, CLASSIFIER -> true;
            default -> false;
        };
    }
}
