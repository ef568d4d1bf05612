package io.onnxslanc.check.verify;

/**
 * Perplexity of reference and candidate over the tokens of the samples a check fed (each sample's logits at
 * position t scoring token t + 1), and the candidate's increase in percent.
 */
public record PerplexityFigures(double reference, double candidate, double increasePct, long tokens) {
}
