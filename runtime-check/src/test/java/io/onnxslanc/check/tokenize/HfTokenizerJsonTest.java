package io.onnxslanc.check.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** all-MiniLM-L6-v2's tokenizer.json (bert-base-uncased WordPiece), from the langchain4j model jar. */
class HfTokenizerJsonTest {
    static final String RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    @TempDir
    static Path dir;
    static Path file;
    static HfTokenizerJson tokenizer;

    @BeforeAll
    static void load() throws IOException {
        file = dir.resolve("tokenizer.json");
        try (InputStream in = HfTokenizerJsonTest.class.getResourceAsStream(RESOURCE)) {
            assertTrue(in != null, RESOURCE + " not on the test classpath");
            Files.copy(in, file);
        }
        tokenizer = HfTokenizerJson.load(file);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void knownWordPieceIds() {
        // bert-base-uncased: [CLS]=101, hello=7592, world=2088, [SEP]=102
        assertArrayEquals(new int[] {7592, 2088}, tokenizer.encode("hello world"));
        assertArrayEquals(new int[] {7592, 2088}, tokenizer.encode("Hello World"), "uncased");
        assertEquals(101, tokenizer.bos().getAsInt());
        assertEquals(30522, tokenizer.vocabSize());
        assertEquals("hello world", tokenizer.decode(new int[] {101, 7592, 2088, 102}));
    }

    @Test
    void encoderInputForASentence() {
        EncoderInput in = tokenizer.encodeSentence("hello world");
        assertArrayEquals(new long[] {101, 7592, 2088, 102}, in.inputIds());
        assertArrayEquals(new long[] {1, 1, 1, 1}, in.attentionMask());
        assertArrayEquals(new long[] {0, 0, 0, 0}, in.tokenTypeIds());
        assertArrayEquals(new long[] {1, 4}, in.shape());
    }

    @Test
    void longTextIsNotTruncated() {
        String text = "hello world ".repeat(1000);
        assertEquals(2000, tokenizer.encode(text).length);
        assertEquals(2002, tokenizer.encodeSentence(text).length());
    }

    @Test
    void vocabCheckAllowsPaddedModelVocab() {
        tokenizer.checkVocab(30522);
        tokenizer.checkVocab(30528);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.checkVocab(512));
        assertTrue(e.getMessage().contains("30521") && e.getMessage().contains("512"), e.getMessage());
    }

    @Test
    void detectedFromContent() throws IOException {
        Path renamed = dir.resolve("vocab.bin");
        Files.copy(file, renamed);
        try (TextTokenizer t = Tokenizers.load(renamed)) {
            assertInstanceOf(HfTokenizerJson.class, t);
            assertArrayEquals(new int[] {7592, 2088}, t.encode("hello world"));
        }
    }

    /** A causal-LM style tokenizer.json: a WordLevel vocabulary and a post-processor that prepends "<s>". */
    static String wordLevel(boolean withBos) {
        String template = "{\"type\": \"TemplateProcessing\","
                + " \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}},"
                + " {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
                + " \"pair\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}},"
                + " {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}],"
                + " \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [5], \"tokens\": [\"<s>\"]}}}";
        return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,"
                + " \"added_tokens\": [{\"id\": 5, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false,"
                + " \"rstrip\": false, \"normalized\": false, \"special\": true}],"
                + " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Whitespace\"},"
                + " \"post_processor\": " + (withBos ? template : "null") + ", \"decoder\": null,"
                + " \"model\": {\"type\": \"WordLevel\", \"vocab\": {\"<unk>\": 0, \"hello\": 1, \"world\": 2,"
                + " \"<s>\": 5}, \"unk_token\": \"<unk>\"}}";
    }

    @Test
    void bosFromThePostProcessor() throws IOException {
        Path withBos = dir.resolve("with-bos.json");
        Files.writeString(withBos, wordLevel(true));
        try (HfTokenizerJson t = HfTokenizerJson.load(withBos)) {
            assertEquals(5, t.bos().getAsInt());
            assertArrayEquals(new int[] {1, 2, 0}, t.encode("hello world moon"));
            assertEquals(6, t.vocabSize());
        }
        Path withoutBos = dir.resolve("without-bos.json");
        Files.writeString(withoutBos, wordLevel(false));
        try (HfTokenizerJson t = HfTokenizerJson.load(withoutBos)) {
            assertTrue(t.bos().isEmpty());
            assertArrayEquals(new int[] {1, 2}, t.encode("hello world"));
        }
    }

    @Test
    void emptySentenceIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.encodeSentence(""));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }
}
