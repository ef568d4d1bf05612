package io.onnxslanc.check.tokenize;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.PriorityQueue;

/**
 * The tokenizer of Karpathy's llama2.c ({@code tokenizer.bin}, {@code tok512.bin}): a SentencePiece BPE vocabulary
 * with merge scores and byte fallback, encoded exactly as llama2.c's {@code encode()} does.
 *
 * <p>File layout (little-endian): int32 max_token_length, then for every token: float32 score, int32 byte length,
 * the token's bytes. The file does not store the vocabulary size; it is the number of tokens up to the end of file.
 * Token 1 is BOS, token 2 EOS, tokens 3..258 the raw bytes 0..255 (pieces "&lt;0x00&gt;" .. "&lt;0xFF&gt;").
 */
public final class Llama2cTokenizer implements TextTokenizer {
    public static final int BOS = 1;
    public static final int EOS = 2;
    /** Id of the byte token for byte value 0; byte b is token b + 3. */
    public static final int FIRST_BYTE_TOKEN = 3;
    /** llama2.c starts its best-merge search at this score, so merges scoring lower never happen. */
    private static final float NO_MERGE_SCORE = -1e10f;
    private static final int MAX_PLAUSIBLE_TOKEN_LENGTH = 1 << 16;

    private final String source;
    private final int maxTokenLength;
    private final byte[][] pieces;
    private final float[] scores;
    /** Pieces as ISO-8859-1 strings (one char per byte), so that any byte sequence is a usable map key. */
    private final String[] keys;
    private final Map<String, Integer> idByKey;
    /** (left id, right id) packed in a long -> id of the token whose piece is their concatenation. */
    private final Map<Long, Integer> mergeByPair;
    private final int dummyPrefix;

    private Llama2cTokenizer(String source, int maxTokenLength, byte[][] pieces, float[] scores) {
        this.source = source;
        this.maxTokenLength = maxTokenLength;
        this.pieces = pieces;
        this.scores = scores;
        this.keys = new String[pieces.length];
        this.idByKey = new HashMap<>(pieces.length * 2);
        for (int id = 0; id < pieces.length; id++) {
            keys[id] = new String(pieces[id], StandardCharsets.ISO_8859_1);
            // SentencePiece pieces are unique; should a file repeat one, keep the first id
            idByKey.putIfAbsent(keys[id], id);
        }
        this.mergeByPair = new HashMap<>();
        for (int id = 0; id < pieces.length; id++) {
            // every way of cutting a piece into two pieces is a pair that concatenates to it
            for (int cut = 0; cut <= pieces[id].length; cut++) {
                Integer left = idByKey.get(keys[id].substring(0, cut));
                Integer right = idByKey.get(keys[id].substring(cut));
                if (left != null && right != null) {
                    mergeByPair.putIfAbsent(pair(left, right), idByKey.get(keys[id]));
                }
            }
        }
        // llama2.c looks up " " for the dummy prefix; a vocabulary without it falls back to the byte token
        this.dummyPrefix = idByKey.getOrDefault(" ", FIRST_BYTE_TOKEN + ' ');
    }

    /** Reads a llama2.c tokenizer file. */
    public static Llama2cTokenizer load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "tokenizer file not found");
        }
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Parses the content of a llama2.c tokenizer file; {@code source} names it in messages. */
    public static Llama2cTokenizer parse(byte[] content, String source) {
        ByteBuffer in = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 4) {
            throw notLlama2c(source, "shorter than its 4-byte header");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0 || maxTokenLength > MAX_PLAUSIBLE_TOKEN_LENGTH) {
            throw notLlama2c(source, "max_token_length " + maxTokenLength + " in the header is implausible");
        }
        java.util.List<byte[]> pieces = new java.util.ArrayList<>();
        java.util.List<Float> scores = new java.util.ArrayList<>();
        while (in.hasRemaining()) {
            int at = in.position();
            if (in.remaining() < 8) {
                throw notLlama2c(source, "truncated entry for token " + pieces.size() + " at byte " + at);
            }
            float score = in.getFloat();
            int length = in.getInt();
            if (length < 0 || length > maxTokenLength || length > in.remaining()) {
                throw notLlama2c(source, "token " + pieces.size() + " at byte " + at + " has length " + length
                        + " (max_token_length " + maxTokenLength + ", " + in.remaining() + " bytes left)");
            }
            byte[] piece = new byte[length];
            in.get(piece);
            pieces.add(piece);
            scores.add(score);
        }
        if (pieces.size() < FIRST_BYTE_TOKEN + 256) {
            throw notLlama2c(source, "only " + pieces.size() + " tokens; the 256 byte tokens 3..258 are missing");
        }
        for (int b = 0; b < 256; b++) {
            String expected = String.format("<0x%02X>", b);
            String actual = new String(pieces.get(FIRST_BYTE_TOKEN + b), StandardCharsets.ISO_8859_1);
            if (!expected.equals(actual)) {
                throw notLlama2c(source, "token " + (FIRST_BYTE_TOKEN + b) + " should be the byte token " + expected
                        + " but is \"" + actual + "\"");
            }
        }
        float[] scoreArray = new float[scores.size()];
        for (int i = 0; i < scoreArray.length; i++) {
            scoreArray[i] = scores.get(i);
        }
        return new Llama2cTokenizer(source, maxTokenLength, pieces.toArray(new byte[0][]), scoreArray);
    }

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static NotLlama2c notLlama2c(String source, String problem) {
        return new NotLlama2c(source, problem);
    }

    /** The content is not a llama2.c tokenizer; {@link #problem()} says why, without the file name. */
    static final class NotLlama2c extends IllegalArgumentException {
        private final String problem;

        NotLlama2c(String source, String problem) {
            super(source + ": not a llama2.c tokenizer: " + problem);
            this.problem = problem;
        }

        String problem() {
            return problem;
        }
    }

    @Override
    public int[] encode(String text) {
        byte[] utf8 = Utf8Text.encode(text);
        if (utf8.length == 0) {
            return new int[0];
        }
        Merger merger = new Merger(utf8.length + 1);
        merger.append(dummyPrefix);
        int i = 0;
        while (i < utf8.length) {
            int end = i + 1;
            // a character is a lead byte and its continuation bytes (10xxxxxx), at most 4 bytes as in llama2.c
            while (end < utf8.length && (utf8[end] & 0xC0) == 0x80 && end - i < 4) {
                end++;
            }
            Integer id = idByKey.get(new String(utf8, i, end - i, StandardCharsets.ISO_8859_1));
            if (id != null) {
                merger.append(id);
            } else {
                for (int b = i; b < end; b++) {
                    merger.append((utf8[b] & 0xFF) + FIRST_BYTE_TOKEN);
                }
            }
            i = end;
        }
        return merger.mergeAll();
    }

    /**
     * Pair merging with a priority queue. llama2.c rescans all adjacent pairs after each merge and takes the highest
     * score, the leftmost pair on ties; symbols keep their original start index and their order, so ordering the
     * queue by (score descending, left start index ascending) picks the same pair each time, in O(n log n).
     */
    private final class Merger {
        private final int[] ids;
        private final int[] prev;
        private final int[] next;
        private final boolean[] alive;
        private int size;
        private final PriorityQueue<Candidate> queue = new PriorityQueue<>();

        Merger(int capacity) {
            ids = new int[capacity];
            prev = new int[capacity];
            next = new int[capacity];
            alive = new boolean[capacity];
        }

        void append(int id) {
            ids[size] = id;
            prev[size] = size - 1;
            next[size] = size + 1;
            alive[size] = true;
            size++;
        }

        int[] mergeAll() {
            next[size - 1] = -1;
            for (int left = 0; left + 1 < size; left++) {
                offer(left, left + 1);
            }
            while (!queue.isEmpty()) {
                Candidate c = queue.poll();
                if (!c.isCurrent()) {
                    continue;
                }
                int right = c.right;
                ids[c.left] = c.merged;
                alive[right] = false;
                next[c.left] = next[right];
                if (next[right] >= 0) {
                    prev[next[right]] = c.left;
                }
                if (prev[c.left] >= 0) {
                    offer(prev[c.left], c.left);
                }
                if (next[c.left] >= 0) {
                    offer(c.left, next[c.left]);
                }
            }
            int count = 0;
            for (int i = 0; i >= 0; i = next[i]) {
                count++;
            }
            int[] out = new int[count];
            int k = 0;
            for (int i = 0; i >= 0; i = next[i]) {
                out[k++] = ids[i];
            }
            return out;
        }

        private void offer(int left, int right) {
            Integer merged = mergeByPair.get(pair(ids[left], ids[right]));
            if (merged != null && scores[merged] > NO_MERGE_SCORE) {
                queue.add(new Candidate(left, right, ids[left], ids[right], merged, scores[merged]));
            }
        }

        private final class Candidate implements Comparable<Candidate> {
            final int left;
            final int right;
            final int leftId;
            final int rightId;
            final int merged;
            final float score;

            Candidate(int left, int right, int leftId, int rightId, int merged, float score) {
                this.left = left;
                this.right = right;
                this.leftId = leftId;
                this.rightId = rightId;
                this.merged = merged;
                this.score = score;
            }

            /** False when either symbol was merged away or changed since this candidate was queued. */
            boolean isCurrent() {
                return alive[left] && alive[right] && next[left] == right && ids[left] == leftId && ids[right] == rightId;
            }

            @Override
            public int compareTo(Candidate o) {
                int byScore = Float.compare(o.score, score);
                return byScore != 0 ? byScore : Integer.compare(left, o.left);
            }
        }
    }

    @Override
    public OptionalInt bos() {
        return OptionalInt.of(BOS);
    }

    /**
     * Concatenates the pieces' bytes as llama2.c's {@code decode()} does: byte tokens become their byte, and the
     * leading space of a piece right after BOS is dropped. The start of {@code ids} counts as "after BOS" because
     * {@link #encode} adds the dummy-prefix space without a BOS, so that {@code decode(encode(s))} gives {@code s}.
     * BOS and EOS themselves are not printed; byte sequences that are not valid UTF-8 become U+FFFD.
     */
    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean afterBos = true;
        for (int id : ids) {
            if (id < 0 || id >= pieces.length) {
                throw new IllegalArgumentException(source + ": token id " + id + " outside the vocabulary of "
                        + pieces.length);
            }
            if (id == BOS || id == EOS) {
                afterBos = id == BOS;
                continue;
            }
            if (id >= FIRST_BYTE_TOKEN && id < FIRST_BYTE_TOKEN + 256) {
                out.write(id - FIRST_BYTE_TOKEN);
            } else {
                byte[] piece = pieces[id];
                int skip = afterBos && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
                out.write(piece, skip, piece.length - skip);
            }
            afterBos = false;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public String source() {
        return source;
    }

    /** llama2.c takes the vocabulary size from the model, so the two must agree exactly. */
    @Override
    public void checkVocab(int modelVocab) {
        if (modelVocab != pieces.length) {
            throw new IllegalArgumentException(String.format(
                    "%s: llama2.c tokenizer has %d tokens but the model has a vocabulary of %d;"
                            + " use the tokenizer the model was trained with", source, pieces.length, modelVocab));
        }
    }

    public int maxTokenLength() {
        return maxTokenLength;
    }

    /** The raw bytes of token {@code id} as stored in the file. */
    public byte[] piece(int id) {
        return pieces[id].clone();
    }

    public float score(int id) {
        return scores[id];
    }
}
