package io.onnxslanc.samples.encoders;

import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
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
 * Sentence embeddings from a BERT-style encoder (MiniLM, BGE, E5): tokenizer.json, ONNX Runtime, mean pooling of
 * last_hidden_state over the attention mask, L2-normalised. Used by the `embed` demo to compare an FP32 model with
 * its SLaNC + FP16 version on real sentences.
 */
public final class SentenceEmbedder implements AutoCloseable {
    private final HfTokenizerJson tokenizer;
    private final OpenedSession session;
    private final String label;

    public SentenceEmbedder(Path model, Path tokenizerJson, SessionFactory factory) throws IOException {
        this.tokenizer = HfTokenizerJson.load(tokenizerJson);
        this.session = factory.open(ModelSource.file(model));
        this.label = model.toString();
    }

    public String runInfo() {
        return session.info().summary();
    }

    public double[] embed(String sentence) {
        EncoderInput e = tokenizer.encodeSentence(sentence);
        Map<String, TensorData> feed = new LinkedHashMap<>();
        for (String name : session.session().getInputNames()) {
            long[] v = switch (name) {
                case "input_ids" -> e.inputIds();
                case "attention_mask" -> e.attentionMask();
                case "token_type_ids" -> e.tokenTypeIds();
                default -> throw new IllegalArgumentException(label + ": cannot feed encoder input '" + name + "'");
            };
            feed.put(name, TensorData.ofLongs(e.shape(), v));
        }
        Map<String, TensorData> out = Runs.run(session.session(), label, feed);
        TensorData hidden = out.containsKey("last_hidden_state") ? out.get("last_hidden_state") : out.values().iterator().next();
        int tokens = e.length();
        int d = (int) hidden.shape()[hidden.shape().length - 1];
        double[] pooled = new double[d];
        double count = 0;
        for (int t = 0; t < tokens; t++) {
            if (e.attentionMask()[t] == 0) {
                continue;
            }
            count++;
            for (int j = 0; j < d; j++) {
                pooled[j] += hidden.floats()[t * d + j];
            }
        }
        double norm = 0;
        for (int j = 0; j < d; j++) {
            pooled[j] /= count;
            norm += pooled[j] * pooled[j];
        }
        norm = Math.sqrt(norm);
        for (int j = 0; j < d; j++) {
            pooled[j] /= norm;
        }
        return pooled;
    }

    public List<double[]> embedAll(List<String> sentences) {
        List<double[]> out = new ArrayList<>();
        for (String s : sentences) {
            out.add(embed(s));
        }
        return out;
    }

    /** Cosine of two L2-normalised embeddings. */
    public static double cosine(double[] a, double[] b) {
        double dot = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
        }
        return dot;
    }

    @Override
    public void close() {
        session.close();
    }
}
