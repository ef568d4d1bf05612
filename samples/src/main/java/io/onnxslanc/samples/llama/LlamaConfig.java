package io.onnxslanc.samples.llama;

/**
 * Shape of a Llama-architecture decoder (the llama2.c header plus whether the classifier is the
 * transposed token embedding).
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads,
                          int vocabSize, int maxSeqLen, boolean sharedClassifier) {

    public int headSize() {
        return dim / nHeads;
    }

    public int kvDim() {
        return nKvHeads * headSize();
    }

    /** Query heads per kv head (grouped-query attention). */
    public int groupSize() {
        return nHeads / nKvHeads;
    }

    /** Returns null when the values make sense, otherwise a short description of the first problem. */
    public String problem() {
        if (dim <= 0) return "dim must be positive (got " + dim + ")";
        if (hiddenDim <= 0) return "hidden_dim must be positive (got " + hiddenDim + ")";
        if (nLayers <= 0) return "n_layers must be positive (got " + nLayers + ")";
        if (nHeads <= 0) return "n_heads must be positive (got " + nHeads + ")";
        if (nKvHeads <= 0) return "n_kv_heads must be positive (got " + nKvHeads + ")";
        if (vocabSize <= 0) return "vocab_size must be non-zero (got " + vocabSize + ")";
        if (maxSeqLen <= 0) return "seq_len must be positive (got " + maxSeqLen + ")";
        if (dim % nHeads != 0) return "n_heads " + nHeads + " does not divide dim " + dim;
        if (nHeads % nKvHeads != 0) return "n_kv_heads " + nKvHeads + " does not divide n_heads " + nHeads;
        if (headSize() % 2 != 0) return "head size " + headSize() + " is odd; RoPE rotates pairs";
        return null;
    }

    /** Throws IllegalArgumentException naming the first nonsensical value. */
    public LlamaConfig validated() {
        String p = problem();
        if (p != null) throw new IllegalArgumentException("invalid Llama configuration: " + p);
        return this;
    }

    /** Number of weight parameters (embedding, norms, linear layers, classifier if not shared). */
    public long parameterCount() {
        long perLayer = 2L * dim + 2L * dim * dim + 2L * kvDim() * dim + 3L * hiddenDim * dim;
        long total = (long) vocabSize * dim + nLayers * perLayer + dim;
        return sharedClassifier ? total : total + (long) vocabSize * dim;
    }
}
