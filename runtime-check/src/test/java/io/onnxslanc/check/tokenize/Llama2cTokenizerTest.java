package io.onnxslanc.check.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.TestData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cTokenizerTest {
    static Path TOK512;
    static Path TEXT;

    static Llama2cTokenizer tokenizer;
    static NaiveLlama2cEncoder reference;

    @BeforeAll
    static void load() throws IOException {
        TOK512 = TestData.file("stories260K/tok512.bin"); // skips the class when the shared data is absent
        TEXT = TestData.file("text/tinystories-val.txt");
        tokenizer = Llama2cTokenizer.load(TOK512);
        reference = new NaiveLlama2cEncoder(Files.readAllBytes(TOK512));
    }

    @Test
    void readsTok512() {
        assertEquals(512, tokenizer.vocabSize());
        assertEquals(7, tokenizer.maxTokenLength());
        assertEquals(1, tokenizer.bos().getAsInt());
        assertEquals("\n<s>\n", new String(tokenizer.piece(1), StandardCharsets.UTF_8));
        assertEquals(" t", new String(tokenizer.piece(259), StandardCharsets.UTF_8));
        assertEquals(-1.0f, tokenizer.score(260));
    }

    @Test
    void matchesNaiveReferenceOnFourThousandLinesOfTinyStories() throws IOException {
        List<String> lines = Files.readAllLines(TEXT, StandardCharsets.UTF_8);
        assertTrue(lines.size() > 8000, "expected the ~8.7k lines of tinystories-val.txt");
        long tokens = 0;
        for (int i = 0; i < 4000; i++) {
            String line = lines.get(i);
            int[] expected = reference.encode(line.getBytes(StandardCharsets.UTF_8));
            int[] actual = tokenizer.encode(line);
            assertArrayEquals(expected, actual, "line " + (i + 1) + ": " + line);
            tokens += actual.length;
        }
        assertTrue(tokens > 80_000, "tokens: " + tokens);
    }

    @Test
    void matchesNaiveReferenceOnMultiLineChunks() throws IOException {
        String text = Files.readString(TEXT, StandardCharsets.UTF_8);
        for (int start : new int[] {12_345, text.length() - 2000}) {
            String chunk = text.substring(start, start + 2000);
            assertArrayEquals(reference.encode(chunk.getBytes(StandardCharsets.UTF_8)), tokenizer.encode(chunk),
                    "chunk at char " + start);
        }
    }

    @Test
    void handCheckedEncodings() {
        // " Once" etc. are not all single tokens in a 512 vocabulary; check against the pieces
        assertEquals(" Once upon a time", pieces(tokenizer.encode("Once upon a time")));
        assertArrayEquals(new int[0], tokenizer.encode(""));
        // the dummy prefix " " is token-merged with the first character: "a" -> " a" (token 261)
        assertArrayEquals(new int[] {261}, tokenizer.encode("a"));
        // an emoji is not in the vocabulary: the dummy-prefix space and the 4 UTF-8 bytes F0 9F 99 82 as byte tokens
        int space = idOf(" ");
        assertArrayEquals(new int[] {space, 0xF0 + 3, 0x9F + 3, 0x99 + 3, 0x82 + 3}, tokenizer.encode("\uD83D\uDE42"));
    }

    @Test
    void byteFallbackForNonAscii() {
        String text = "na\u00EFve \u2014 \uD83D\uDE42";
        int[] ids = tokenizer.encode(text);
        assertArrayEquals(reference.encode(text.getBytes(StandardCharsets.UTF_8)), ids);
        // ï (C3 AF) is not a token of this vocabulary: its bytes appear as byte tokens; the em dash is a token
        assertTrue(containsRun(ids, new int[] {0xC3 + 3, 0xAF + 3}), Arrays.toString(ids));
        assertTrue(containsRun(ids, new int[] {idOf("\u2014")}), Arrays.toString(ids));
        assertTrue(containsRun(ids, new int[] {0xF0 + 3, 0x9F + 3, 0x99 + 3, 0x82 + 3}), Arrays.toString(ids));
        assertEquals(text, tokenizer.decode(ids));
    }

    @Test
    void decodeInvertsEncode() throws IOException {
        for (String s : new String[] {"Hello world!", "  two leading spaces", "tab\tand\nnewline\n", "a", " ",
                "na\u00EFve \u2014 \uD83D\uDE42", "\u65E5\u672C\u8A9E"}) {
            assertEquals(s, tokenizer.decode(tokenizer.encode(s)), s);
        }
        List<String> lines = Files.readAllLines(TEXT, StandardCharsets.UTF_8);
        for (String line : lines.subList(0, 500)) {
            assertEquals(line, tokenizer.decode(tokenizer.encode(line)));
        }
    }

    @Test
    void wholeFileRoundTrips() throws IOException {
        String text = Utf8Text.read(TEXT);
        int[] ids = tokenizer.encode(text);
        assertTrue(ids.length > 150_000 && ids.length < text.length() / 2, "tokens: " + ids.length);
        assertEquals(text, tokenizer.decode(ids));
    }

    @Test
    void decodeFollowsLlama2cAfterBos() {
        int[] ids = tokenizer.encode("The cat");
        int[] withBos = new int[ids.length + 1];
        withBos[0] = 1;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        assertEquals("The cat", tokenizer.decode(withBos));
        // "<0x0A>" is a newline byte
        assertEquals("\n", tokenizer.decode(new int[] {0x0A + 3}));
        // a space-led piece keeps its space in the middle of a sequence
        assertEquals("a a", tokenizer.decode(new int[] {261, 261}));
    }

    @Test
    void vocabMismatchIsReported() {
        tokenizer.checkVocab(512);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.checkVocab(32000));
        assertTrue(e.getMessage().contains("tok512.bin") && e.getMessage().contains("512")
                && e.getMessage().contains("32000"), e.getMessage());
    }

    @Test
    void truncatedFileIsRejected(@TempDir Path dir) throws IOException {
        byte[] content = Files.readAllBytes(TOK512);
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(content, content.length - 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Llama2cTokenizer.load(cut));
        assertTrue(e.getMessage().startsWith(cut + ": not a llama2.c tokenizer"), e.getMessage());
    }

    @Test
    void lonelySurrogateIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tokenizer.encode("x\uD83Dy"));
        assertTrue(e.getMessage().contains("surrogate"), e.getMessage());
    }

    private static String pieces(int[] ids) {
        StringBuilder s = new StringBuilder();
        for (int id : ids) {
            s.append(new String(tokenizer.piece(id), StandardCharsets.UTF_8));
        }
        return s.toString();
    }

    private static int idOf(String piece) {
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (piece.equals(new String(tokenizer.piece(id), StandardCharsets.UTF_8))) {
                return id;
            }
        }
        throw new AssertionError("no piece " + piece);
    }

    private static boolean containsRun(int[] ids, int[] run) {
        outer:
        for (int i = 0; i + run.length <= ids.length; i++) {
            for (int j = 0; j < run.length; j++) {
                if (ids[i + j] != run[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /**
     * A deliberately naive transcription of llama2.c's encode(): after every merge it rescans all adjacent pairs,
     * keeping the first pair with a strictly higher score than the best so far (starting at -1e10).
     */
    static final class NaiveLlama2cEncoder {
        final List<String> vocab = new ArrayList<>();
        final List<Float> scores = new ArrayList<>();
        final Map<String, Integer> lookup = new HashMap<>();
        /** Memo of vocab lookups of concatenated pairs (-1: not a token); the algorithm stays the naive one. */
        final Map<Long, Integer> pairMemo = new HashMap<>();

        NaiveLlama2cEncoder(byte[] file) {
            ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
            b.getInt();
            while (b.hasRemaining()) {
                scores.add(b.getFloat());
                byte[] s = new byte[b.getInt()];
                b.get(s);
                vocab.add(new String(s, StandardCharsets.ISO_8859_1));
            }
            for (int i = 0; i < vocab.size(); i++) {
                lookup.put(vocab.get(i), i);
            }
        }

        int[] encode(byte[] text) {
            List<Integer> tokens = new ArrayList<>();
            if (text.length > 0) {
                tokens.add(lookup.get(" "));
            }
            int len = 0;
            byte[] buffer = new byte[8];
            for (int c = 0; c < text.length; c++) {
                if ((text[c] & 0xC0) != 0x80) {
                    len = 0;
                }
                buffer[len++] = text[c];
                if (c + 1 < text.length && (text[c + 1] & 0xC0) == 0x80 && len < 4) {
                    continue;
                }
                Integer id = lookup.get(new String(buffer, 0, len, StandardCharsets.ISO_8859_1));
                if (id != null) {
                    tokens.add(id);
                } else {
                    for (int i = 0; i < len; i++) {
                        tokens.add((buffer[i] & 0xFF) + 3);
                    }
                }
                len = 0;
            }
            while (true) {
                float bestScore = -1e10f;
                int bestId = -1;
                int bestIdx = -1;
                for (int i = 0; i < tokens.size() - 1; i++) {
                    int a = tokens.get(i);
                    int b = tokens.get(i + 1);
                    int id = pairMemo.computeIfAbsent(((long) a << 32) | b,
                            k -> lookup.getOrDefault(vocab.get(a) + vocab.get(b), -1));
                    if (id != -1 && scores.get(id) > bestScore) {
                        bestScore = scores.get(id);
                        bestId = id;
                        bestIdx = i;
                    }
                }
                if (bestIdx == -1) {
                    break;
                }
                tokens.set(bestIdx, bestId);
                tokens.remove(bestIdx + 1);
            }
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
