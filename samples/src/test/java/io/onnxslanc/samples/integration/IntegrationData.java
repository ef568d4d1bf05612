package io.onnxslanc.samples.integration;

import io.onnxslanc.check.tokenize.Llama2cTokenizer;
import io.onnxslanc.check.tokenize.Utf8Text;
import io.onnxslanc.testing.SharedData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/** Real inputs for the integration tests: tinystories text for stories260K, plain English sentences for the encoders. */
final class IntegrationData {
    private IntegrationData() {
    }

    /** Sentences of different lengths and vocabulary, for the encoders (tokenised with each model's tokenizer.json). */
    static final List<String> SENTENCES = List.of(
            "The cat sat on the mat.",
            "A quick brown fox jumps over the lazy dog near the riverbank.",
            "Static layer norm calibration keeps half-precision transformers finite.",
            "What is the capital of France?",
            "In 1969, Neil Armstrong became the first person to walk on the Moon, watched by millions on television.");

    /** BOS followed by the first {@code count - 1} tokens of tinystories-val.txt (tok512 tokenizer). */
    static int[] storyTokens(int count) {
        try (Llama2cTokenizer tok = Llama2cTokenizer.load(SharedData.tok512())) {
            String text = Utf8Text.read(SharedData.tinyStoriesVal());
            // a prefix comfortably longer than needed: tok512 averages well over one char per token
            int[] ids = tok.encode(text.substring(0, Math.min(text.length(), 8 * count)));
            if (ids.length < count - 1) {
                throw new IllegalStateException("tinystories-val.txt gave only " + ids.length + " tokens");
            }
            int[] out = new int[count];
            out[0] = Llama2cTokenizer.BOS;
            System.arraycopy(ids, 0, out, 1, count - 1);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String describe(int[] tokens) {
        return tokens.length + " tokens " + Arrays.toString(Arrays.copyOf(tokens, Math.min(8, tokens.length))) + "...";
    }
}
