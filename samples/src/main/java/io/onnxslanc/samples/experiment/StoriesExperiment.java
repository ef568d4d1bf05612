package io.onnxslanc.samples.experiment;

import ai.onnxruntime.OrtException;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.perplexity.Perplexity;
import io.onnxslanc.check.perplexity.PerplexityOptions;
import io.onnxslanc.check.perplexity.PerplexityResult;
import io.onnxslanc.check.perplexity.WindowProtocol;
import io.onnxslanc.check.probe.NormStats;
import io.onnxslanc.check.tokenize.TextTokenizer;
import io.onnxslanc.check.tokenize.Tokenizers;
import io.onnxslanc.check.tokenize.Utf8Text;
import io.onnxslanc.samples.llama.ImportOptions;
import io.onnxslanc.samples.llama.Llama2cImporter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Consumer;

/** stories260K, imported with decomposed RMSNorms, amplified by each c and run as the five variants. */
final class StoriesExperiment {
    private final ExperimentOptions options;
    private final SessionFactory factory;
    private final Consumer<String> progress;
    private int[] tokens;
    private OptionalInt bos;
    private WindowProtocol protocol;
    private PerplexityOptions pplOptions;
    private List<Map<String, TensorData>> probeInputs;
    final List<FactorModels> models = new ArrayList<>();
    final List<ExperimentResult.Diagnostic> diagnostics = new ArrayList<>();
    String describedProtocol;

    StoriesExperiment(ExperimentOptions options, SessionFactory factory, Consumer<String> progress) {
        this.options = options;
        this.factory = factory;
        this.progress = progress;
    }

    List<ExperimentResult.LmRow> run(Path dir) throws IOException {
        Path base = dir.resolve("stories260K.onnx");
        Llama2cImporter.write(Llama2cImporter.importCheckpoint(options.checkpoint(), ImportOptions.defaults()), base);
        try (TextTokenizer tok = Tokenizers.load(options.tokenizer())) {
            tokens = tok.encode(Utf8Text.read(options.text()));
            bos = tok.bos();
        }
        if (bos.isEmpty()) {
            throw new IllegalArgumentException(options.tokenizer() + ": the tokenizer has no BOS id; the protocol puts BOS first");
        }
        protocol = WindowProtocol.nonOverlapping(options.window() - 1);
        pplOptions = PerplexityOptions.defaults().withMaxTokens(options.maxPositions() - 1);
        probeInputs = windows();

        List<ExperimentResult.LmRow> rows = new ArrayList<>();
        for (double c : options.factors()) {
            progress.accept("stories260K c = " + c + ": amplify, calibrate");
            FactorModels fm = FactorModels.prepare(base, c, dir, "stories260K");
            models.add(fm);
            double fp32 = Double.NaN;
            for (Variant v : Variant.PAPER) {
                progress.accept("stories260K c = " + c + ": " + v.label());
                PerplexityResult r = perplexity(fm.open(v, factory), fm.file(v));
                if (v == Variant.FP32) {
                    fp32 = r.perplexity();
                }
                List<NormStats> probe = fm.probe(v, probeInputs, factory);
                ModelCounts counts = fm.counts(v);
                rows.add(new ExperimentResult.LmRow(c, v, r.perplexity(),
                        v == Variant.FP32 ? Double.NaN : (r.perplexity() - fp32) / fp32, r.tokensScored(), r.windows(),
                        FactorModels.overflowing(probe), probe.size(), FactorModels.overflowingNames(probe),
                        FactorModels.maxAbs(probe), counts.nodes(), counts.casts()));
                describedProtocol = r.protocol();
                if (v == Variant.SLANC && FactorModels.overflowing(probe) > 0) {
                    diagnostics.add(diagnose(fm, dir, fp32));
                }
            }
            if (options.workDir() == null) {
                fm.deleteFiles(base); // a temporary folder: keep at most one factor's models on disk
            }
        }
        return rows;
    }

    /** SLaNC left norms overflowing: the same run with the first norm scaled from the embedding table. */
    private ExperimentResult.Diagnostic diagnose(FactorModels fm, Path dir, double fp32) {
        progress.accept("stories260K c = " + fm.factor + ": diagnostic, first norm scaled from the embedding");
        fm.prepareDiagnostic(dir, "stories260K");
        PerplexityResult r = perplexity(fm.openDiagnostic(factory), fm.diagnostic);
        List<NormStats> probe = fm.probeDiagnostic(probeInputs, factory);
        return new ExperimentResult.Diagnostic("stories260K", fm.factor, fm.diagnosticScale, r.perplexity(),
                (r.perplexity() - fp32) / fp32, FactorModels.overflowing(probe), probe.size());
    }

    /** Evaluates and closes the session; messages name {@code model}, the file it was opened from. */
    private PerplexityResult perplexity(OpenedSession s, Path model) {
        try (Perplexity p = Perplexity.of(s, model.toString())) {
            return p.evaluate(tokens, bos, protocol, pplOptions);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    /** The model inputs perplexity feeds, BOS first in each window: the probe sees exactly the same positions. */
    private List<Map<String, TensorData>> windows() {
        int count = Math.min(tokens.length, pplOptions.maxTokens());
        List<Map<String, TensorData>> out = new ArrayList<>();
        for (WindowProtocol.Window w : protocol.plan(count, true)) {
            long[] ids = new long[w.length()];
            ids[0] = bos.getAsInt();
            for (int i = 1; i < ids.length; i++) {
                ids[i] = tokens[w.start() + i - 1];
            }
            out.add(Map.of("input_ids", TensorData.ofLongs(new long[] {1, ids.length}, ids)));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(options.text() + ": too short for one window (" + count + " tokens)");
        }
        return out;
    }
}
