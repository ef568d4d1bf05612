package io.onnxslanc.check.compare;

import java.util.List;

/**
 * One (model, provider, emulation) combination of a {@link Comparison}.
 *
 * @param providersAsked   the provider list asked for, e.g. "cuda,cpu"
 * @param providerUsed     the provider that held the graph ("CPU" after a fallback), null when the row did not run
 * @param emulation        "none" or the emulation mode's label
 * @param value            perplexity, or (parity) the worst output cosine to the reference row's outputs
 * @param deltaPct         perplexity: (value - reference) / reference in percent; parity: (1 - value) in percent;
 *                         0 for the reference row, NaN when the row did not run
 * @param tokens           perplexity: tokens scored; parity: samples compared
 * @param windows          perplexity: model runs (windows); parity: samples
 * @param msPerWindow      wall time of the model runs per window (or sample), in milliseconds (not a benchmark)
 * @param ortVersion       ONNX Runtime version of the session
 * @param status           "ok", "reference", or why the row did not run ("unavailable: ...", "failed: ...")
 * @param warnings         e.g. a CUDA fallback to the CPU provider
 */
public record ComparisonRow(String model, String providersAsked, String providerUsed, String emulation, double value,
                            double deltaPct, long tokens, int windows, double msPerWindow, String ortVersion,
                            String status, List<String> warnings) {
    public ComparisonRow {
        warnings = List.copyOf(warnings);
    }

    public boolean ran() {
        return providerUsed != null;
    }

    static ComparisonRow notRun(String model, String asked, String emulation, String why, String ortVersion) {
        return new ComparisonRow(model, asked, null, emulation, Double.NaN, Double.NaN, 0, 0, Double.NaN, ortVersion, why, List.of());
    }
}
