package io.onnxslanc.samples.experiment;

import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.probe.NormStats;
import io.onnxslanc.check.tokenize.EncoderInput;
import io.onnxslanc.check.tokenize.HfTokenizerJson;
import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.fallback.FallbackReport;
import io.onnxslanc.check.fallback.Fp32Fallback;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.probe.NormProbe;
import io.onnxslanc.check.probe.NormTaps;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.samples.amplify.AmplifyReport;
import io.onnxslanc.samples.amplify.ResidualRescale;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** all-MiniLM-L6-v2 amplified by each c: cosine of mean-pooled sentence embeddings against the FP32 original's. */
final class MiniLmExperiment {
    /** Real sentences of different lengths and topics. */
    static final List<String> SENTENCES = List.of(
            "The cat sat quietly on the warm windowsill, watching the rain.",
            "Static calibration rescales each normalisation layer before inference.",
            "Stock markets fell sharply on Tuesday after the central bank raised interest rates.",
            "She finally finished the marathon in just under four hours.",
            "How do I reset my password if I no longer have access to my email?",
            "Photosynthesis converts light energy into chemical energy stored in glucose.",
            "The old bridge was closed for repairs, so we took the long way around the lake.",
            "A transformer processes every token of the sequence in parallel.");

    private final SessionFactory factory;
    private final Consumer<String> progress;
    final List<FactorModels> models = new ArrayList<>();
    final List<ExperimentResult.Diagnostic> diagnostics = new ArrayList<>();
    final List<String> fallbackNotes = new ArrayList<>();

    MiniLmExperiment(SessionFactory factory, Consumer<String> progress) {
        this.factory = factory;
        this.progress = progress;
    }

    /** {@code keepModels}: leave every factor's models in {@code dir}, else delete each once measured. */
    List<ExperimentResult.EncoderRow> run(List<Double> factors, Path dir, boolean keepModels) throws IOException {
        Path base = SampleModels.MINILM.model();
        List<Map<String, TensorData>> feeds = new ArrayList<>();
        try (HfTokenizerJson tok = HfTokenizerJson.load(SampleModels.MINILM.tokenizerJson())) {
            for (String s : SENTENCES) {
                EncoderInput e = tok.encodeSentence(s);
                feeds.add(Map.of("input_ids", TensorData.ofLongs(e.shape(), e.inputIds()),
                        "attention_mask", TensorData.ofLongs(e.shape(), e.attentionMask()),
                        "token_type_ids", TensorData.ofLongs(e.shape(), e.tokenTypeIds())));
            }
        }
        float[][] reference;
        try (OpenedSession s = factory.open(io.onnxslanc.check.model.ModelSource.file(base))) {
            reference = embeddings(s, feeds);
        }
        List<ExperimentResult.EncoderRow> rows = new ArrayList<>();
        for (double c : factors) {
            progress.accept("MiniLM c = " + c + ": amplify, calibrate");
            FactorModels fm = FactorModels.prepare(base, c, dir, "minilm");
            models.add(fm);
            for (Variant v : Variant.PAPER) {
                progress.accept("MiniLM c = " + c + ": " + v.label());
                double[] cos;
                try (OpenedSession s = fm.open(v, factory)) {
                    cos = cosines(reference, embeddings(s, feeds));
                }
                List<NormStats> probe = fm.probe(v, feeds, factory);
                ModelCounts counts = fm.counts(v);
                rows.add(new ExperimentResult.EncoderRow(c, v, cos[0], cos[1], FactorModels.overflowing(probe),
                        probe.size(), FactorModels.overflowingNames(probe), FactorModels.maxAbs(probe), counts.nodes(),
                        counts.casts()));
                if (v == Variant.SLANC && FactorModels.overflowing(probe) > 0) {
                    progress.accept("MiniLM c = " + c + ": diagnostic, first norm scaled from the embedding tables");
                    fm.prepareDiagnostic(dir, "minilm");
                    double[] d;
                    try (OpenedSession s = fm.openDiagnostic(factory)) {
                        d = cosines(reference, embeddings(s, feeds));
                    }
                    List<NormStats> dp = fm.probeDiagnostic(feeds, factory);
                    diagnostics.add(new ExperimentResult.Diagnostic("MiniLM", c, fm.diagnosticScale, d[0], Double.NaN,
                            FactorModels.overflowing(dp), dp.size()));
                }
            }
            ExperimentResult.EncoderRow slanc = rows.stream().filter(r -> r.factor() == c && r.variant() == Variant.SLANC)
                    .findFirst().orElseThrow();
            if (!(slanc.minCosine() >= FALLBACK_WHEN_COSINE_BELOW)) {
                rows.add(fallback(fm, reference, feeds, dir));
            }
            if (!keepModels) {
                fm.deleteFiles(base);
            }
        }
        return rows;
    }

    /** (f) runs where SLaNC alone leaves the embeddings further than this from FP32's. */
    static final double FALLBACK_WHEN_COSINE_BELOW = 0.999;

    /**
     * (f): --fp32-fallback auto planned on the experiment's sentences, run under naive FP16 norms with its FP32 nodes
     * in FP32; nodes / Casts count its deployable model (converted with those nodes on the node block list).
     */
    private ExperimentResult.EncoderRow fallback(FactorModels fm, float[][] reference, List<Map<String, TensorData>> feeds,
                                                 Path dir) {
        double c = fm.factor;
        progress.accept("MiniLM c = " + c + ": " + Variant.FALLBACK.label());
        Fp32Fallback.Plan plan = Fp32Fallback.plan(fm.amplified, SlancOptions.defaults(), feeds, factory,
                Fp32Fallback.Options.defaults().withRescale(ResidualRescale.INSTANCE));
        Path file = dir.resolve("minilm.x" + AmplifyReport.format(c) + ".fallback.onnx");
        ModelWriter.write(plan.model(), file);
        try {
            java.util.Set<String> fp32 = plan.report().nodeNames();
            double[] cos;
            try (OpenedSession s = Emulation.open(ModelSource.read(file), Variant.FALLBACK.emulation(), factory, true, fp32).opened()) {
                cos = cosines(reference, embeddings(s, feeds));
            }
            List<NormStats> probe = NormProbe.run(ModelSource.file(file), NormTaps.of(ModelReader.read(file)), feeds, factory).norms();
            ModelCounts counts = ModelCounts.deployable(file, fp32);
            FallbackReport r = plan.report();
            fallbackNotes.add(String.format(java.util.Locale.ROOT, "(f) MiniLM, c = %s: --fp32-fallback auto (planned on the same "
                    + "sentences, a tensor overflows at |x| >= %.0f): largest activation after SLaNC %s; static rescale %s; "
                    + "%d node%s kept in FP32; min cos %s.", AmplifyReport.format(c), r.limit(), ExperimentResult.number(r.maxAbsBefore()),
                    r.rescale() == 1 ? "none (" + r.rescaleNote() + ")" : "x 2^" + Math.getExponent(r.rescale()) + " of the residual stream, "
                            + "the inverse of amplify (" + r.rescaleNote() + ")",
                    r.nodes().size(), r.nodes().size() == 1 ? "" : "s", ExperimentResult.cosine(cos[0])));
            return new ExperimentResult.EncoderRow(c, Variant.FALLBACK, cos[0], cos[1], FactorModels.overflowing(probe),
                    probe.size(), FactorModels.overflowingNames(probe), FactorModels.maxAbs(probe), counts.nodes(), counts.casts());
        } finally {
            file.toFile().delete();
        }
    }

    /** {smallest, mean} cosine between each reference embedding and the same sentence's. */
    private static double[] cosines(float[][] reference, float[][] got) {
        double min = Double.POSITIVE_INFINITY;
        double sum = 0;
        for (int i = 0; i < got.length; i++) {
            double cos = cosine(reference[i], got[i]);
            min = Double.isNaN(cos) || Double.isNaN(min) ? Double.NaN : Math.min(min, cos);
            sum += cos;
        }
        return new double[] {min, sum / got.length};
    }

    /** Mean of last_hidden_state over the positions the attention mask keeps, one vector per sentence. */
    private static float[][] embeddings(OpenedSession s, List<Map<String, TensorData>> feeds) {
        float[][] out = new float[feeds.size()][];
        for (int i = 0; i < feeds.size(); i++) {
            Map<String, TensorData> feed = feeds.get(i);
            TensorData h = Runs.run(s.session(), "MiniLM", feed).get("last_hidden_state");
            if (h == null || !h.isFloat() || h.shape().length != 3) {
                throw new IllegalStateException("MiniLM: no [1, n, d] float output 'last_hidden_state'");
            }
            int n = (int) h.shape()[1];
            int d = (int) h.shape()[2];
            long[] mask = feed.get("attention_mask").longs();
            float[] v = h.floats();
            float[] mean = new float[d];
            int kept = 0;
            for (int t = 0; t < n; t++) {
                if (mask[t] == 0) {
                    continue;
                }
                kept++;
                for (int j = 0; j < d; j++) {
                    mean[j] += v[t * d + j];
                }
            }
            for (int j = 0; j < d; j++) {
                mean[j] /= kept;
            }
            out[i] = mean;
        }
        return out;
    }

    /** In double; NaN when either vector holds NaN or infinity. */
    static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        double c = ab / Math.sqrt(aa * bb);
        return Double.isFinite(c) ? c : Double.NaN;
    }
}
