package io.onnxslanc.samples.experiment;

import io.onnxslanc.samples.DataDir;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@link SlancExperiment} runs.
 *
 * @param factors        amplification factors c for stories260K (1 = the model as imported)
 * @param maxPositions   model positions evaluated, BOS included: the first maxPositions - 1 tokens of the text, in
 *                       non-overlapping windows of {@code window} positions (BOS + window - 1 tokens, remainder dropped)
 * @param window         positions per window, BOS included (stories260K's maximum is 512)
 * @param miniLmFactors  factors for MiniLM (empty: skip MiniLM)
 * @param checkpoint     stories260K.bin
 * @param tokenizer      tok512.bin
 * @param text           the text scored (tinystories-val.txt)
 * @param workDir        where the models are written (null: a temporary folder, deleted afterwards)
 */
public record ExperimentOptions(List<Double> factors, int maxPositions, int window, List<Double> miniLmFactors,
                                Path checkpoint, Path tokenizer, Path text, Path workDir) {

    public ExperimentOptions {
        factors = List.copyOf(factors);
        miniLmFactors = List.copyOf(miniLmFactors);
        if (factors.isEmpty()) {
            throw new IllegalArgumentException("give at least one amplification factor");
        }
        for (double c : factors) {
            check(c);
        }
        for (double c : miniLmFactors) {
            check(c);
        }
        if (window < 2) {
            throw new IllegalArgumentException("window must be at least 2 positions (BOS + 1 token), got " + window);
        }
        if (maxPositions < 2) {
            throw new IllegalArgumentException("max positions must be at least 2 (BOS + 1 token), got " + maxPositions);
        }
    }

    private static void check(double c) {
        if (!(c > 0) || Double.isInfinite(c)) {
            throw new IllegalArgumentException("amplification factor must be finite and > 0, got " + c);
        }
    }

    /** c in {1, 16, 64, 256, 1024}, the first 512 positions, MiniLM at c in {1, 16, 256, 1024}, the shared data folder. */
    public static ExperimentOptions defaults() {
        return new ExperimentOptions(List.of(1.0, 16.0, 64.0, 256.0, 1024.0), 512, 512, List.of(1.0, 16.0, 256.0, 1024.0),
                DataDir.stories260K(), DataDir.tok512(), DataDir.tinyStoriesVal(), null);
    }

    public ExperimentOptions withFactors(List<Double> f) {
        return new ExperimentOptions(f, maxPositions, window, miniLmFactors, checkpoint, tokenizer, text, workDir);
    }

    public ExperimentOptions withMaxPositions(int n) {
        return new ExperimentOptions(factors, n, window, miniLmFactors, checkpoint, tokenizer, text, workDir);
    }

    public ExperimentOptions withMiniLmFactors(List<Double> f) {
        return new ExperimentOptions(factors, maxPositions, window, f, checkpoint, tokenizer, text, workDir);
    }

    public ExperimentOptions withData(Path checkpointFile, Path tokenizerFile, Path textFile) {
        return new ExperimentOptions(factors, maxPositions, window, miniLmFactors, checkpointFile, tokenizerFile, textFile, workDir);
    }

    public ExperimentOptions withWorkDir(Path dir) {
        return new ExperimentOptions(factors, maxPositions, window, miniLmFactors, checkpoint, tokenizer, text, dir);
    }
}
