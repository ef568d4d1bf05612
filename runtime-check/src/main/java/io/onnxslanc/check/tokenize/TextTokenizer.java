package io.onnxslanc.check.tokenize;

import java.util.OptionalInt;

/** A text tokenizer as used for perplexity and calibration inputs. Close it: some hold native resources. */
public interface TextTokenizer extends AutoCloseable {

    /** Token ids of {@code text}, without any special token (no BOS, no EOS). */
    int[] encode(String text);

    /** The beginning-of-sequence id this tokenizer puts in front of a single sequence, if it has one. */
    OptionalInt bos();

    /** Text of {@code ids}; special tokens are dropped. */
    String decode(int[] ids);

    /** Number of ids this tokenizer can produce (largest id + 1). */
    int vocabSize();

    /** Where the tokenizer came from (a file name), for messages. */
    String source();

    /**
     * Throws {@link IllegalArgumentException} when this tokenizer does not fit a model whose logits have
     * {@code modelVocab} entries.
     */
    void checkVocab(int modelVocab);

    /** Releases native resources, if any. */
    @Override
    default void close() {
    }
}
