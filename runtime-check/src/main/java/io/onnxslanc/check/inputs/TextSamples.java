package io.onnxslanc.check.inputs;

import io.onnxslanc.check.tokenize.EncoderInput;
import io.onnxslanc.check.tokenize.HfTokenizerJson;
import io.onnxslanc.check.tokenize.TextTokenizer;
import io.onnxslanc.check.tokenize.Tokenizers;
import io.onnxslanc.check.tokenize.Utf8Text;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Token ids from real text: one sample per non-empty line, cut to {@code maxLen}. A tokenizer.json gives the encoder
 * inputs (input_ids, attention_mask, token_type_ids); a causal tokenizer gives input_ids with BOS in front when it has
 * one, and a mask of ones.
 */
final class TextSamples {
    private TextSamples() {
    }

    /** Per line: input name -> ids of that line. */
    static List<Map<String, long[]>> read(Path text, Path tokenizerFile, int samples, int maxLen) throws IOException {
        List<String> lines = Utf8Text.read(text).lines().map(String::strip).filter(l -> !l.isEmpty()).limit(samples).toList();
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(text + ": no non-empty line to feed");
        }
        List<Map<String, long[]>> out = new ArrayList<>();
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
                out.add(ids);
            }
        }
        return out;
    }

    private static long[] truncate(long[] v, int n) {
        return v.length <= n ? v : Arrays.copyOf(v, n);
    }
}
