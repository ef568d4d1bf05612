package io.onnxslanc.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.check.tokenize.EncoderInput;
import io.onnxslanc.check.tokenize.HfTokenizerJson;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Sentence embeddings computed in the test itself: ONNX Runtime's last_hidden_state (FP16 outputs widened exactly
 * by ORT's float buffer), mean-pooled over the attention mask, one sentence per run, and their cosine in double.
 */
final class OrtEmbeddings {
    private OrtEmbeddings() {}

    /** Smallest cosine over the sentences between model a's and model b's embeddings. */
    static double worstCosine(Path a, Path b, Path tokenizerJson, List<String> sentences) throws IOException, OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double worst = 1;
        try (HfTokenizerJson tok = HfTokenizerJson.load(tokenizerJson);
             OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            try (OrtSession sa = env.createSession(a.toString(), so); OrtSession sb = env.createSession(b.toString(), so)) {
                for (String s : sentences) {
                    EncoderInput e = tok.encodeSentence(s);
                    worst = Math.min(worst, cosine(embed(env, sa, e), embed(env, sb, e)));
                }
            }
        }
        return worst;
    }

    private static double[] embed(OrtEnvironment env, OrtSession s, EncoderInput e) throws OrtException {
        long[] shape = e.shape();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(e.inputIds()), shape));
            feeds.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(e.attentionMask()), shape));
            if (s.getInputNames().contains("token_type_ids")) {
                feeds.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(e.tokenTypeIds()), shape));
            }
            try (OrtSession.Result r = s.run(feeds)) {
                OnnxTensor h = (OnnxTensor) r.get("last_hidden_state").orElseThrow();
                long[] hs = h.getInfo().getShape();
                int n = (int) hs[1], d = (int) hs[2];
                FloatBuffer fb = h.getFloatBuffer();
                double[] mean = new double[d];
                int kept = 0;
                for (int t = 0; t < n; t++) {
                    if (e.attentionMask()[t] == 0) continue;
                    kept++;
                    for (int j = 0; j < d; j++) mean[j] += fb.get(t * d + j);
                }
                for (int j = 0; j < d; j++) mean[j] /= kept;
                return mean;
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static double cosine(double[] a, double[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
