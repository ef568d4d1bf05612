package io.onnxslanc.check.tokenize;

/** The three int64 inputs of a BERT-style encoder (MiniLM, BGE, E5) for one sentence, batch of one. */
public record EncoderInput(long[] inputIds, long[] attentionMask, long[] tokenTypeIds) {
    public int length() {
        return inputIds.length;
    }

    /** ONNX shape of each of the three tensors: [1, length]. */
    public long[] shape() {
        return new long[] {1, inputIds.length};
    }
}
