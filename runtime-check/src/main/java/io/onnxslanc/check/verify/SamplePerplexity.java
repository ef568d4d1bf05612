package io.onnxslanc.check.verify;

import io.onnxslanc.check.model.TensorData;
import java.util.Map;

/**
 * Perplexity of reference and candidate over the samples a check feeds, from the same runs: for a causal LM fed
 * {@code input_ids [1, n]} with {@code logits [1, n, vocab]}, the logits at position t score token t + 1
 * (log-softmax and sums in double). Samples without both tensors are skipped.
 */
final class SamplePerplexity {
    private final String logitsName;
    private double refNll;
    private double candNll;
    private long tokens;

    SamplePerplexity(String logitsName) {
        this.logitsName = logitsName;
    }

    void add(Map<String, TensorData> feed, Map<String, TensorData> ref, Map<String, TensorData> cand) {
        TensorData ids = feed.get("input_ids");
        TensorData r = ref.get(logitsName);
        TensorData c = cand.get(logitsName);
        if (ids == null || r == null || c == null || ids.isFloat() || !r.isFloat() || !c.isFloat()) {
            return;
        }
        long[] shape = r.shape();
        long[] idShape = ids.shape();
        if (shape.length != 3 || shape[0] != 1 || idShape.length != 2 || idShape[1] != shape[1]) {
            return;
        }
        int n = (int) shape[1];
        int v = (int) shape[2];
        long[] id = ids.longs();
        for (int t = 0; t + 1 < n; t++) {
            int target = (int) id[t + 1];
            if (target < 0 || target >= v) {
                continue;
            }
            refNll += nll(r.floats(), t * v, v, target);
            candNll += nll(c.floats(), t * v, v, target);
            tokens++;
        }
    }

    private static double nll(float[] logits, int off, int v, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = off; j < off + v; j++) {
            max = Math.max(max, logits[j]);
        }
        double sum = 0;
        for (int j = off; j < off + v; j++) {
            sum += Math.exp(logits[j] - max);
        }
        double nll = max + Math.log(sum) - logits[off + target];
        return Double.isNaN(nll) ? Double.POSITIVE_INFINITY : nll; // a NaN row is an unusable prediction
    }

    /** Null when no sample could be scored. */
    PerplexityFigures result() {
        if (tokens == 0) {
            return null;
        }
        double ref = Math.exp(refNll / tokens);
        double cand = Math.exp(candNll / tokens);
        return new PerplexityFigures(ref, cand, 100 * (cand - ref) / ref, tokens);
    }

}
