package io.onnxslanc.check.perplexity;

/**
 * @param maxTokens     use only the first {@code maxTokens} tokens of the text; 0 for all
 * @param useBos        prepend the tokenizer's BOS to each window when it has one
 * @param keepWindowNll return the NLL of every window in the result
 * @param kvCache       feed each window token by token through the model's KV cache (present outputs fed back as
 *                      the next step's past inputs) instead of all at once with an empty past
 */
public record PerplexityOptions(int maxTokens, boolean useBos, boolean keepWindowNll, boolean kvCache) {
    public PerplexityOptions {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0 (0: all), got " + maxTokens);
        }
    }

    public static PerplexityOptions defaults() {
        return new PerplexityOptions(0, true, false, false);
    }

    public PerplexityOptions withMaxTokens(int n) {
        return new PerplexityOptions(n, useBos, keepWindowNll, kvCache);
    }

    public PerplexityOptions withBos(boolean use) {
        return new PerplexityOptions(maxTokens, use, keepWindowNll, kvCache);
    }

    public PerplexityOptions withWindowNll(boolean keep) {
        return new PerplexityOptions(maxTokens, useBos, keep, kvCache);
    }

    public PerplexityOptions withKvCache(boolean cache) {
        return new PerplexityOptions(maxTokens, useBos, keepWindowNll, cache);
    }
}
