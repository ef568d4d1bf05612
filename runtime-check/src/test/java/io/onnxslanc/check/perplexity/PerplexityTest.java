package io.onnxslanc.check.perplexity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.TestData;
import io.onnxslanc.check.tokenize.Llama2cTokenizer;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Perplexity of bigram models, whose NLL for "target t scored in a window starting at s" is written down here
 * directly: the logits row is bigram[previous] + positional[position], with previous = BOS for the first token of a
 * window (when BOS is used) and position counted from the window's start.
 */
class PerplexityTest {
    static final int V = 7;
    static final int BOS = 1;
    static final int[] TOKENS = {3, 0, 6, 2, 2, 5, 1, 4, 6, 0};
    static final float[][] BIGRAM = table(V, V, 11);
    static final float[][] POSITIONAL = table(16, V, 12);
    static final float[][] NO_POSITIONAL = new float[16][V];

    /** Values in [-4, 4) on a 1/64 grid: exact in FP16 and FP32, and so are their sums. */
    static float[][] table(int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[][] t = new float[rows][cols];
        for (float[] row : t) {
            for (int j = 0; j < cols; j++) {
                row[j] = (r.nextInt(512) - 256) / 64f;
            }
        }
        return t;
    }

    /** NLL of {@code targets[i]} scored in a window starting at {@code starts[i]}. */
    static double expectedNll(int[] targets, int[] starts, boolean bos, float[][] positional) {
        double total = 0;
        for (int i = 0; i < targets.length; i++) {
            int t = targets[i];
            int s = starts[i];
            int previous = bos && t == s ? BOS : TOKENS[t - 1];
            int position = bos ? t - s : t - s - 1;
            double[] row = new double[V];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                row[v] = BIGRAM[previous][v] + positional[position][v];
                max = Math.max(max, row[v]);
            }
            double sum = 0;
            for (double x : row) {
                sum += Math.exp(x - max);
            }
            total += Math.log(sum) + max - row[TOKENS[t]];
        }
        return total;
    }

    static Perplexity open(ModelProto model) throws OrtException {
        return Perplexity.open(ModelSource.of("bigram.onnx", model), SessionFactory.cpu());
    }

    static PerplexityResult run(ModelProto model, boolean bos, WindowProtocol protocol, PerplexityOptions options)
            throws OrtException {
        try (Perplexity p = open(model)) {
            return p.evaluate(TOKENS, bos ? OptionalInt.of(BOS) : OptionalInt.empty(), protocol, options);
        }
    }

    static void assertResult(PerplexityResult r, double expectedNll, long scored, int windows) {
        assertEquals(scored, r.tokensScored(), r.protocol());
        assertEquals(windows, r.windows(), r.protocol());
        assertEquals(expectedNll, r.totalNll(), 1e-9 * Math.abs(expectedNll), r.protocol());
        assertEquals(Math.exp(expectedNll / scored), r.perplexity(), 1e-9 * r.perplexity(), r.protocol());
    }

    static final ModelProto DECODER = BigramModels.withDecoderInputs(BIGRAM, POSITIONAL, BigramModels.FLOAT);

    @Test
    void nonOverlappingWithBos() throws OrtException {
        // windows [0,4) [4,8); tokens 8, 9 dropped; every window token scored, the first one from BOS
        PerplexityResult r = run(DECODER, true, WindowProtocol.nonOverlapping(4), PerplexityOptions.defaults());
        double nll = expectedNll(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, new int[] {0, 0, 0, 0, 4, 4, 4, 4}, true,
                POSITIONAL);
        assertResult(r, nll, 8, 2);
        assertEquals("non-overlapping windows of 4 tokens (remainder dropped), BOS 1 prepended, 10 tokens",
                r.protocol());
    }

    @Test
    void nonOverlappingWithoutBos() throws OrtException {
        PerplexityResult r = run(DECODER, false, WindowProtocol.nonOverlapping(4), PerplexityOptions.defaults());
        double nll = expectedNll(new int[] {1, 2, 3, 5, 6, 7}, new int[] {0, 0, 0, 4, 4, 4}, false, POSITIONAL);
        assertResult(r, nll, 6, 2);
    }

    @Test
    void slidingWithBos() throws OrtException {
        // window 4, stride 2: [0,4) scores 0-3, [2,6) scores 4-5, [4,8) 6-7, [6,10) 8-9
        PerplexityResult r = run(DECODER, true, WindowProtocol.sliding(4, 2),
                PerplexityOptions.defaults().withWindowNll(true));
        int[] targets = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] starts = {0, 0, 0, 0, 2, 2, 4, 4, 6, 6};
        assertResult(r, expectedNll(targets, starts, true, POSITIONAL), 10, 4);
        assertEquals(4, r.windowNll().length);
        assertEquals(expectedNll(new int[] {4, 5}, new int[] {2, 2}, true, POSITIONAL), r.windowNll()[1], 1e-9);
    }

    @Test
    void slidingWithoutBos() throws OrtException {
        // the text's first token is never scored; later windows score the tokens past the previous window's end
        PerplexityResult r = run(DECODER, false, WindowProtocol.sliding(4, 2), PerplexityOptions.defaults());
        int[] targets = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] starts = {0, 0, 0, 2, 2, 4, 4, 6, 6};
        assertResult(r, expectedNll(targets, starts, false, POSITIONAL), 9, 4);
        assertTrue(r.protocol().startsWith("sliding window of 4 tokens, stride 2, no BOS"), r.protocol());
    }

    @Test
    void slidingWithStrideEqualToWindowIsNonOverlappingPlusTail() throws OrtException {
        PerplexityResult r = run(DECODER, true, WindowProtocol.sliding(4, 4), PerplexityOptions.defaults());
        int[] targets = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] starts = {0, 0, 0, 0, 4, 4, 4, 4, 8, 8};
        assertResult(r, expectedNll(targets, starts, true, POSITIONAL), 10, 3);
    }

    @Test
    void textShorterThanOneWindowIsScoredWhole() throws OrtException {
        PerplexityResult r = run(DECODER, true, WindowProtocol.nonOverlapping(16), PerplexityOptions.defaults());
        int[] all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        assertResult(r, expectedNll(all, new int[10], true, POSITIONAL), 10, 1);
    }

    @Test
    void maxTokensCutsTheText() throws OrtException {
        PerplexityResult r = run(DECODER, true, WindowProtocol.nonOverlapping(4),
                PerplexityOptions.defaults().withMaxTokens(6));
        assertResult(r, expectedNll(new int[] {0, 1, 2, 3}, new int[4], true, POSITIONAL), 4, 1);
        assertTrue(r.protocol().endsWith(", first 6 tokens"), r.protocol());
    }

    @Test
    void plainModelWithInt32Ids() throws OrtException {
        PerplexityResult r = run(BigramModels.plain(BIGRAM, BigramModels.INT32), true,
                WindowProtocol.nonOverlapping(5), PerplexityOptions.defaults());
        int[] all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] starts = {0, 0, 0, 0, 0, 5, 5, 5, 5, 5};
        assertResult(r, expectedNll(all, starts, true, NO_POSITIONAL), 10, 2);
    }

    @Test
    void fp16ModelWithFp16PastAndLogits() throws OrtException {
        ModelProto fp16 = BigramModels.withDecoderInputs(BIGRAM, POSITIONAL, BigramModels.FLOAT16);
        PerplexityResult r = run(fp16, true, WindowProtocol.sliding(4, 2), PerplexityOptions.defaults());
        int[] targets = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] starts = {0, 0, 0, 0, 2, 2, 4, 4, 6, 6};
        // the tables are exact in FP16 and so are the sums: the same numbers as in FP32
        assertResult(r, expectedNll(targets, starts, true, POSITIONAL), 10, 4);
    }

    @Test
    void lineFormat() {
        assertEquals("ppl 3.7123 tokens 512 windows 1", PerplexityResult.formatLine(3.71234, 512, 1));
        assertEquals("ppl 12.0000 tokens 8 windows 2", new PerplexityResult(12, 8, 2, "p", 0, new double[0]).line());
    }

    @Test
    void throughTheLlama2cTokenizer() throws IOException, OrtException {
        Llama2cTokenizer tokenizer = Llama2cTokenizer.load(TestData.file("stories260K/tok512.bin"));
        float[][] bigram = table(512, 512, 13);
        String text = "Once upon a time, there was a little dog named Max. Max liked to play in the park.";
        int[] ids = tokenizer.encode(text);
        assertTrue(ids.length > 16, "tokens: " + ids.length);
        try (Perplexity p = open(BigramModels.plain(bigram, BigramModels.INT64))) {
            PerplexityResult r = p.evaluate(tokenizer, text, WindowProtocol.nonOverlapping(8),
                    PerplexityOptions.defaults());
            double nll = 0;
            int windows = ids.length / 8;
            for (int t = 0; t < windows * 8; t++) {
                int previous = t % 8 == 0 ? Llama2cTokenizer.BOS : ids[t - 1];
                double[] row = new double[512];
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < 512; v++) {
                    row[v] = bigram[previous][v];
                    max = Math.max(max, row[v]);
                }
                double sum = 0;
                for (double x : row) {
                    sum += Math.exp(x - max);
                }
                nll += Math.log(sum) + max - row[ids[t]];
            }
            assertResult(r, nll, windows * 8L, windows);
        }
    }

    @Test
    void tokenizerOfAnotherVocabularyIsRejected() throws IOException, OrtException {
        Llama2cTokenizer tokenizer = Llama2cTokenizer.load(TestData.file("stories260K/tok512.bin"));
        try (Perplexity p = open(BigramModels.plain(BIGRAM, BigramModels.INT64))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.evaluate(tokenizer,
                    "Once upon a time", WindowProtocol.nonOverlapping(8), PerplexityOptions.defaults()));
            assertTrue(e.getMessage().contains("tok512.bin") && e.getMessage().contains("vocabulary of 7"),
                    e.getMessage());
        }
    }

    @Test
    void inputTheToolCannotFeedIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> open(BigramModels.withImageInput(BIGRAM)));
        assertTrue(e.getMessage().startsWith("bigram.onnx: cannot feed model input 'pixel_values' (FLOAT [batch, 3,"
                + " 8, 8])"), e.getMessage());
    }

    @Test
    void emptyTextIsRejected() throws IOException, OrtException {
        Llama2cTokenizer tokenizer = Llama2cTokenizer.load(TestData.file("stories260K/tok512.bin"));
        try (Perplexity p = open(BigramModels.plain(table(512, 512, 1), BigramModels.INT64))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.evaluate(tokenizer, "",
                    WindowProtocol.nonOverlapping(8), PerplexityOptions.defaults()));
            assertEquals("text is empty: nothing to score", e.getMessage());
        }
    }

    @Test
    void oneTokenWithoutBosHasNothingToScore() throws OrtException {
        try (Perplexity p = open(DECODER)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.evaluate(new int[] {3},
                    OptionalInt.empty(), WindowProtocol.nonOverlapping(4), PerplexityOptions.defaults()));
            assertTrue(e.getMessage().startsWith("1 token: nothing to score"), e.getMessage());
        }
    }

    @Test
    void tokenOutsideVocabularyIsNamed() throws OrtException {
        try (Perplexity p = open(DECODER)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.evaluate(
                    new int[] {3, 9, 2}, OptionalInt.of(BOS), WindowProtocol.nonOverlapping(4),
                    PerplexityOptions.defaults()));
            assertTrue(e.getMessage().contains("token id 9 is outside the model's vocabulary of 7"), e.getMessage());
        }
    }

    @Test
    void badProtocolArguments() {
        assertThrows(IllegalArgumentException.class, () -> WindowProtocol.sliding(4, 5));
        assertThrows(IllegalArgumentException.class, () -> WindowProtocol.nonOverlapping(0));
        assertThrows(IllegalArgumentException.class, () -> PerplexityOptions.defaults().withMaxTokens(-1));
    }

    @Test
    void windowPlansAreHandChecked() {
        assertArrayEquals(new WindowProtocol.Window[] {new WindowProtocol.Window(0, 4, 0),
                new WindowProtocol.Window(2, 6, 4), new WindowProtocol.Window(4, 7, 6)},
                WindowProtocol.sliding(4, 2).plan(7, true).toArray());
        assertArrayEquals(new WindowProtocol.Window[] {new WindowProtocol.Window(0, 3, 1)},
                WindowProtocol.nonOverlapping(4).plan(3, false).toArray());
    }
}
