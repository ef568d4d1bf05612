package io.onnxslanc.check.perplexity;

import java.util.Locale;

/**
 * @param perplexity   exp(totalNll / tokensScored)
 * @param tokensScored targets whose negative log-likelihood was summed
 * @param windows      model runs
 * @param protocol     how the text was windowed, e.g. "non-overlapping windows of 512 tokens (remainder dropped),
 *                     BOS prepended, first 512 tokens"
 * @param totalNll     summed negative log-likelihood in nats (double)
 * @param windowNll    NLL per window when asked for, else an empty array
 */
public record PerplexityResult(double perplexity, long tokensScored, int windows, String protocol, double totalNll,
        double[] windowNll) {

    /** {@code ppl 3.7123 tokens 512 windows 1} */
    public String line() {
        return formatLine(perplexity, tokensScored, windows);
    }

    /** The one-line summary: {@code ppl <value, 4 decimals> tokens <scored> windows <n>}. */
    public static String formatLine(double perplexity, long tokensScored, int windows) {
        return String.format(Locale.ROOT, "ppl %.4f tokens %d windows %d", perplexity, tokensScored, windows);
    }
}
