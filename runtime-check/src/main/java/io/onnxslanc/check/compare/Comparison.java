package io.onnxslanc.check.compare;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.CudaUnavailableException;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.perplexity.Perplexity;
import io.onnxslanc.check.perplexity.PerplexityResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every (model, execution provider, FP16 emulation) combination run once on one workload, in that nesting order,
 * in one table against the first combination that ran (the reference: usually the first model, FP32, CPU). A
 * combination that cannot run (a provider that does not load, an emulation of an FP16 model) is a row that says
 * why; the others still run.
 *
 * <pre>{@code
 * ComparisonResult r = Comparison.run(List.of(ModelSource.file(fp32), ModelSource.file(slanc)),
 *         List.of(SessionFactory.cpu()), Arrays.asList(null, Emulation.Mode.FP16_NAIVE_NORMS), workload);
 * System.out.print(r.toTable());
 * }</pre>
 */
public final class Comparison {
    private Comparison() {
    }

    /** {@code emulations}: null stands for no emulation (the model as it is). */
    public static ComparisonResult run(List<ModelSource> models, List<SessionFactory> providers,
                                       List<Emulation.Mode> emulations, Workload workload) {
        if (models.isEmpty() || providers.isEmpty() || emulations.isEmpty()) {
            throw new IllegalArgumentException("compare needs at least one model, one provider and one emulation (or none)");
        }
        String ort = OrtEnvironment.getEnvironment().getVersion();
        Runner runner = workload instanceof Workload.PerplexityOf p ? new PerplexityRunner(p) : new ParityRunner((Workload.ParityOn) workload);
        List<ComparisonRow> rows = new ArrayList<>();
        for (ModelSource model : models) {
            for (SessionFactory factory : providers) {
                for (Emulation.Mode mode : emulations) {
                    String emulation = mode == null ? "none" : mode.label;
                    String asked = factory.providers().toString();
                    OpenedSession session;
                    try {
                        session = mode == null ? factory.open(model) : Emulation.open(readable(model), mode, factory, true).opened();
                    } catch (CudaUnavailableException e) {
                        rows.add(ComparisonRow.notRun(model.label(), asked, emulation, "unavailable: " + e.getMessage(), ort));
                        continue;
                    } catch (RuntimeException e) {
                        rows.add(ComparisonRow.notRun(model.label(), asked, emulation, "failed: " + message(e), ort));
                        continue;
                    }
                    try (session) {
                        rows.add(runner.row(model.label(), asked, emulation, session));
                    } catch (OrtException | RuntimeException e) {
                        rows.add(ComparisonRow.notRun(model.label(), asked, emulation, "failed: " + message(e), ort));
                    }
                }
            }
        }
        return new ComparisonResult(runner.kind(), ort, providers.get(0).optLevel() == null ? "?"
                : SessionFactory.optLevelName(providers.get(0).optLevel()), runner.protocol(), rows);
    }

    private static ModelSource readable(ModelSource m) {
        return m.model() != null ? m : ModelSource.read(m.path());
    }

    private static String message(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replace('\n', ' ');
    }

    /** Runs one workload on a session and makes its row; the first row that runs becomes the reference. */
    private interface Runner {
        ComparisonRow row(String model, String asked, String emulation, OpenedSession s) throws OrtException;

        String kind();

        String protocol();
    }

    private static final class PerplexityRunner implements Runner {
        private final Workload.PerplexityOf w;
        private double reference = Double.NaN;
        private String protocol = "";

        PerplexityRunner(Workload.PerplexityOf w) {
            this.w = w;
        }

        @Override
        public ComparisonRow row(String model, String asked, String emulation, OpenedSession s) throws OrtException {
            Perplexity p = Perplexity.of(s, model); // s is closed by the caller
            long start = System.nanoTime();
            PerplexityResult r = p.evaluate(w.tokenizer(), w.text(), w.protocol(), w.options());
            double ms = (System.nanoTime() - start) / 1e6 / Math.max(1, r.windows());
            protocol = r.protocol();
            boolean first = Double.isNaN(reference);
            if (first) {
                reference = r.perplexity();
            }
            double delta = first ? 0 : 100 * (r.perplexity() - reference) / reference;
            return new ComparisonRow(model, asked, s.info().provider(), emulation, r.perplexity(), delta, r.tokensScored(),
                    r.windows(), ms, s.info().ortVersion(), first ? "reference" : "ok", s.info().warnings());
        }

        @Override
        public String kind() {
            return "perplexity";
        }

        @Override
        public String protocol() {
            return "perplexity, " + protocol + "; delta = (ppl - reference ppl) / reference ppl";
        }
    }

    private static final class ParityRunner implements Runner {
        private final Workload.ParityOn w;
        private List<Map<String, TensorData>> reference;

        ParityRunner(Workload.ParityOn w) {
            this.w = w;
            if (w.inputs().isEmpty()) {
                throw new IllegalArgumentException("no inputs to compare on");
            }
        }

        @Override
        public ComparisonRow row(String model, String asked, String emulation, OpenedSession s) {
            List<Map<String, TensorData>> outputs = new ArrayList<>();
            long start = System.nanoTime();
            for (Map<String, TensorData> feed : w.inputs()) {
                outputs.add(Runs.run(s.session(), model, feed));
            }
            double ms = (System.nanoTime() - start) / 1e6 / w.inputs().size();
            boolean first = reference == null;
            if (first) {
                reference = outputs;
            }
            double cos = first ? 1 : worstCosine(reference, outputs, model);
            return new ComparisonRow(model, asked, s.info().provider(), emulation, cos, 100 * (1 - cos), w.inputs().size(),
                    w.inputs().size(), ms, s.info().ortVersion(), first ? "reference" : "ok", s.info().warnings());
        }

        /** Cosine over all samples of each float output, in double; the smallest (NaN when any value is not finite). */
        static double worstCosine(List<Map<String, TensorData>> ref, List<Map<String, TensorData>> got, String model) {
            Map<String, double[]> sums = new LinkedHashMap<>(); // dot, |r|^2, |c|^2
            for (int i = 0; i < ref.size(); i++) {
                for (Map.Entry<String, TensorData> e : ref.get(i).entrySet()) {
                    TensorData c = got.get(i).get(e.getKey());
                    if (c == null) {
                        throw new IllegalArgumentException(model + ": has no output '" + e.getKey() + "' (the reference has)");
                    }
                    if (!e.getValue().isFloat() || !c.isFloat()) {
                        continue;
                    }
                    float[] r = e.getValue().floats();
                    float[] v = c.floats();
                    if (r.length != v.length) {
                        throw new IllegalArgumentException(model + ": output '" + e.getKey() + "' has " + v.length
                                + " elements, the reference's " + r.length);
                    }
                    double[] s = sums.computeIfAbsent(e.getKey(), k -> new double[3]);
                    for (int j = 0; j < r.length; j++) {
                        s[0] += (double) r[j] * v[j];
                        s[1] += (double) r[j] * r[j];
                        s[2] += (double) v[j] * v[j];
                    }
                }
            }
            double worst = 1;
            for (double[] s : sums.values()) {
                double cos = s[1] == 0 || s[2] == 0 ? (s[1] == s[2] ? 1 : 0) : s[0] / Math.sqrt(s[1] * s[2]);
                if (!Double.isFinite(cos)) {
                    return Double.NaN;
                }
                worst = Math.min(worst, cos);
            }
            return worst;
        }

        @Override
        public String kind() {
            return "parity";
        }

        @Override
        public String protocol() {
            return "parity on " + w.inputs().size() + " input sample(s): value = smallest cosine of an output to the reference row's "
                    + "(all samples, in double); delta = 1 - that cosine";
        }
    }
}
