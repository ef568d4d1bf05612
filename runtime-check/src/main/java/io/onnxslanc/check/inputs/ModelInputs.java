package io.onnxslanc.check.inputs;

import io.onnxslanc.check.model.RunFailedException;
import io.onnxslanc.check.model.TensorData;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The feeds an {@link InputSpec} built for a model, and where they came from.
 *
 * @param feeds     one map per run (input name -> value); a merged decoder has two runs per sample
 * @param origin    e.g. "seeded random inputs (seed 42)", "text lines of a.txt", "tensor files in DIR"
 * @param generated true when the values were generated (random or from text), false when read from files
 * @param symbols   the value each symbolic dimension got (empty for files)
 */
public record ModelInputs(List<Map<String, TensorData>> feeds, String origin, boolean generated, Map<String, Long> symbols) {

    public ModelInputs {
        feeds = List.copyOf(feeds);
        symbols = Map.copyOf(symbols);
    }

    /** The shapes fed, e.g. "input_ids [1,64] int, x [1,200,320] float" (distinct sets joined by " | "). */
    public String shapes() {
        Set<String> distinct = new LinkedHashSet<>();
        for (Map<String, TensorData> feed : feeds) {
            distinct.add(feed.entrySet().stream().map(e -> e.getKey() + " " + Arrays.toString(e.getValue().shape()).replace(" ", "")
                    + (e.getValue().isFloat() ? " float" : " int")).collect(Collectors.joining(", ")));
        }
        return String.join(" | ", distinct);
    }

    /**
     * The error to report when the reference model (the unmodified one) fails on these inputs: it says that the
     * reference itself failed, names the shapes and symbols used, and for generated inputs how to choose them.
     */
    public IllegalArgumentException referenceFailed(String referenceLabel, RunFailedException e) {
        return modelFailed(referenceLabel, "the reference model itself", e);
    }

    /** As {@link #referenceFailed} for a single model (e.g. the probe's): {@code who} is e.g. "the model". */
    public IllegalArgumentException modelFailed(String label, String who, RunFailedException e) {
        StringBuilder m = new StringBuilder(label).append(": ").append(who).append(" fails on the ")
                .append(generated ? "generated inputs" : "inputs").append(" (").append(origin).append("; ").append(shapes());
        if (!symbols.isEmpty()) {
            m.append("; symbolic dims ").append(symbols.entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .map(s -> s.getKey() + "=" + s.getValue()).collect(Collectors.joining(", ")));
        }
        m.append("): ").append(e.detail());
        if (generated) {
            // a KV-cache decoder's past symbol follows --past-len, not --dim: say so where the past is generated
            m.append("; choose the shapes with --input-shape NAME=d1,d2,... or --dim SYMBOL=value")
                    .append(origin.contains("KV-cache decoder") ? ", the past length with --past-len N" : "")
                    .append(", or give real inputs with --inputs DIR");
        }
        return new IllegalArgumentException(m.toString().replace('\n', ' '), e);
    }
}
