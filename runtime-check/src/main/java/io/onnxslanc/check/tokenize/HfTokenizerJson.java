package io.onnxslanc.check.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} (fast tokenizers), run by DJL's Rust bindings. DJL's jar carries the native
 * library for linux-x86_64, linux-aarch64, macOS arm64 and Windows x86_64 and extracts it to {@code ~/.djl.ai};
 * nothing is downloaded. Truncation and padding are switched off whatever the file says, so long texts are encoded
 * whole (perplexity needs every token).
 */
public final class HfTokenizerJson implements TextTokenizer {
    /** Text used to see which special ids the tokenizer's post-processor adds to a single sequence. */
    private static final String PROBE = "a";

    static {
        // DJL "calls home" from EC2 hosts when creating a tokenizer; a build tool has no business doing that
        if (System.getProperty("OPT_OUT_TRACKING") == null && System.getenv("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    private final String source;
    private final HuggingFaceTokenizer tokenizer;
    private final int vocabSize;
    private final OptionalInt bos;

    private HfTokenizerJson(String source, HuggingFaceTokenizer tokenizer, int vocabSize) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.bos = leadingSpecialId(tokenizer);
    }

    /** Loads a tokenizer.json file. */
    public static HfTokenizerJson load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "tokenizer file not found");
        }
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Parses the content of a tokenizer.json; {@code source} names it in messages. */
    public static HfTokenizerJson parse(byte[] json, String source) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new NotJson(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject() || !root.has("model")) {
            throw new IllegalArgumentException(source + ": not a Hugging Face tokenizer.json (no \"model\" object)");
        }
        int vocabSize = vocabSize(root, source);
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json),
                    Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false"));
        } catch (UnsatisfiedLinkError | ExceptionInInitializerError | NoClassDefFoundError e) {
            throw new IllegalStateException("DJL tokenizers native library could not be loaded (" + e + ")", e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(source + ": the tokenizers library rejected it: " + e.getMessage(), e);
        }
        return new HfTokenizerJson(source, tokenizer, vocabSize);
    }

    /** The content does not parse as JSON at all. */
    static final class NotJson extends IllegalArgumentException {
        NotJson(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Largest id in the model vocabulary or the added tokens, plus one. */
    private static int vocabSize(JsonNode root, String source) {
        int max = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) { // WordPiece, BPE, WordLevel: {"piece": id}
            for (Iterator<JsonNode> it = vocab.elements(); it.hasNext(); ) {
                max = Math.max(max, it.next().asInt());
            }
        } else if (vocab.isArray()) { // Unigram: [["piece", score], ...], the index is the id
            max = vocab.size() - 1;
        }
        for (JsonNode added : root.path("added_tokens")) {
            max = Math.max(max, added.path("id").asInt(-1));
        }
        if (max < 0) {
            throw new IllegalArgumentException(source + ": tokenizer.json has an empty vocabulary");
        }
        return max + 1;
    }

    /** The single id the post-processor puts in front of a sequence (Llama's &lt;s&gt;, BERT's [CLS]), if any. */
    private static OptionalInt leadingSpecialId(HuggingFaceTokenizer tokenizer) {
        long[] plain = tokenizer.encode(PROBE, false, false).getIds();
        long[] special = tokenizer.encode(PROBE, true, false).getIds();
        if (special.length > plain.length && plain.length > 0 && special.length > 1 && special[1] == plain[0]) {
            return OptionalInt.of((int) special[0]);
        }
        return OptionalInt.empty();
    }

    @Override
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Encoder-model inputs for one sentence, with the tokenizer's special tokens (e.g. [CLS] ... [SEP]). */
    public EncoderInput encodeSentence(String sentence) {
        if (sentence.isEmpty()) {
            throw new IllegalArgumentException("sentence is empty");
        }
        Encoding e = tokenizer.encode(sentence, true, false);
        return new EncoderInput(e.getIds(), e.getAttentionMask(), e.getTypeIds());
    }

    @Override
    public OptionalInt bos() {
        return bos;
    }

    @Override
    public String decode(int[] ids) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            wide[i] = ids[i];
        }
        return tokenizer.decode(wide, true);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String source() {
        return source;
    }

    /** Models often pad their embedding beyond the tokenizer's ids, so the tokenizer only has to fit inside. */
    @Override
    public void checkVocab(int modelVocab) {
        if (vocabSize > modelVocab) {
            throw new IllegalArgumentException(String.format(
                    "%s: tokenizer produces ids up to %d but the model has a vocabulary of %d;"
                            + " use the tokenizer the model was trained with", source, vocabSize - 1, modelVocab));
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
