package io.onnxslanc.cli;

import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.tokenize.EncoderInput;
import io.onnxslanc.check.tokenize.HfTokenizerJson;
import io.onnxslanc.check.tokenize.TextTokenizer;
import io.onnxslanc.check.tokenize.Tokenizers;
import io.onnxslanc.check.tokenize.Utf8Text;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Model inputs from real text: one sample per non-empty line, fed as encoder inputs or causal-LM token ids. */
final class TextInputs {
    private TextInputs() {
    }

    static List<Map<String, TensorData>> fromText(ModelProto model, Path text, Path tokenizerFile, int samples, int maxLen)
            throws IOException {
        List<String> lines = Utf8Text.read(text).lines().map(String::strip).filter(l -> !l.isEmpty()).limit(samples).toList();
        List<Map<String, TensorData>> out = new ArrayList<>();
        try (TextTokenizer tok = Tokenizers.load(tokenizerFile)) {
            for (String line : lines) {
                Map<String, long[]> ids = new LinkedHashMap<>();
                if (tok instanceof HfTokenizerJson hf) {
                    EncoderInput e = hf.encodeSentence(line);
                    ids.put("input_ids", truncate(e.inputIds(), maxLen));
                    ids.put("attention_mask", truncate(e.attentionMask(), maxLen));
                    ids.put("token_type_ids", truncate(e.tokenTypeIds(), maxLen));
                } else {
                    int[] t = tok.encode(line);
                    int bos = tok.bos().isPresent() ? 1 : 0;
                    long[] seq = new long[Math.min(maxLen, t.length + bos)];
                    if (bos == 1) {
                        seq[0] = tok.bos().getAsInt();
                    }
                    for (int i = bos; i < seq.length; i++) {
                        seq[i] = t[i - bos];
                    }
                    ids.put("input_ids", seq);
                    long[] ones = new long[seq.length];
                    Arrays.fill(ones, 1);
                    ids.put("attention_mask", ones);
                }
                Map<String, TensorData> feed = new LinkedHashMap<>();
                for (ValueInfoProto in : model.getGraph().getInputList()) {
                    long[] v = ids.get(in.getName());
                    if (v == null) {
                        throw new IllegalArgumentException(text + ": cannot feed model input '" + in.getName()
                                + "' from text (known: " + ids.keySet() + ")");
                    }
                    feed.put(in.getName(), TensorData.ofLongs(new long[] {1, v.length}, v));
                }
                out.add(feed);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(text + ": no non-empty line to feed");
        }
        return out;
    }

    private static long[] truncate(long[] v, int n) {
        return v.length <= n ? v : Arrays.copyOf(v, n);
    }
}
