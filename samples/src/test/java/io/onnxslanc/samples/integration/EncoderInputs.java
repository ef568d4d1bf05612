package io.onnxslanc.samples.integration;

import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.tokenize.EncoderInput;
import io.onnxslanc.check.tokenize.HfTokenizerJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sentences tokenised with a BERT-style model's own tokenizer.json, as one right-padded batch (pad id 0, mask 0),
 * and the mean pooling of a [batch, seq, d] output over the attention mask.
 */
record EncoderInputs(List<String> sentences, int batch, int length, long[] ids, long[] mask, long[] types) {

    static EncoderInputs of(Path tokenizerJson, List<String> sentences) throws IOException {
        List<EncoderInput> encoded = new ArrayList<>();
        try (HfTokenizerJson tok = HfTokenizerJson.load(tokenizerJson)) {
            for (String s : sentences) {
                encoded.add(tok.encodeSentence(s));
            }
        }
        int length = encoded.stream().mapToInt(EncoderInput::length).max().orElseThrow();
        int batch = encoded.size();
        long[] ids = new long[batch * length];
        long[] mask = new long[batch * length];
        long[] types = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            EncoderInput e = encoded.get(b);
            System.arraycopy(e.inputIds(), 0, ids, b * length, e.length());
            System.arraycopy(e.attentionMask(), 0, mask, b * length, e.length());
            System.arraycopy(e.tokenTypeIds(), 0, types, b * length, e.length());
        }
        return new EncoderInputs(List.copyOf(sentences), batch, length, ids, mask, types);
    }

    Map<String, TensorData> feeds() {
        long[] shape = {batch, length};
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("input_ids", TensorData.ofLongs(shape, ids));
        m.put("attention_mask", TensorData.ofLongs(shape, mask));
        m.put("token_type_ids", TensorData.ofLongs(shape, types));
        return m;
    }

    int tokens(int sentence) {
        int n = 0;
        for (int t = 0; t < length; t++) {
            n += (int) mask[sentence * length + t];
        }
        return n;
    }

    /** Mean of hidden[b, t, :] over the positions t where the mask is 1, in double. */
    double[][] meanPool(TensorData hidden) {
        long[] shape = hidden.shape();
        if (shape.length != 3 || shape[0] != batch || shape[1] != length) {
            throw new IllegalArgumentException("expected [" + batch + ", " + length + ", d], got " + hidden);
        }
        int d = (int) shape[2];
        float[] h = hidden.floats();
        double[][] out = new double[batch][d];
        for (int b = 0; b < batch; b++) {
            int n = 0;
            for (int t = 0; t < length; t++) {
                if (mask[b * length + t] == 0) {
                    continue;
                }
                n++;
                int base = (b * length + t) * d;
                for (int j = 0; j < d; j++) {
                    out[b][j] += h[base + j];
                }
            }
            for (int j = 0; j < d; j++) {
                out[b][j] /= n;
            }
        }
        return out;
    }

    static double cosine(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
