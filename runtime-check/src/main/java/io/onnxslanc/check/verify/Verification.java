package io.onnxslanc.check.verify;

import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.parity.OutputParity;
import io.onnxslanc.check.parity.Parity;
import io.onnxslanc.check.parity.ParityReport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The verification step: a candidate (an FP16 model, or an FP32 graph run under an FP16 emulation) against its
 * reference on the same inputs, judged by {@link Gates}. The result is a {@link Verdict} with one line naming the
 * worst output, the thing a build script can act on.
 *
 * <pre>{@code
 * Verdict v = Verification.verify(ModelSource.file(in), ModelSource.file(out), inputs, SessionFactory.cpu(),
 *         Verification.Options.defaults().withEmulation(Emulation.Mode.FP16_NAIVE_NORMS));
 * if (!v.passed()) System.err.println(v.line());
 * }</pre>
 */
public final class Verification {
    private Verification() {
    }

    /**
     * @param gates      thresholds
     * @param emulation  null: run the candidate as it is; else run it under this FP16 emulation (the candidate must then
     *                   be an FP32 graph, e.g. the model before its FP16 conversion: the CPU provider hides FP16 overflow)
     * @param keepFp32   with an emulation: names of nodes the deployable model keeps in FP32 (their outputs are not
     *                   rounded where only such nodes read them); empty for none
     * @param parity     vocabulary size and relative-error floor for the parity figures
     */
    public record Options(Gates gates, Emulation.Mode emulation, java.util.Set<String> keepFp32, Parity.Options parity) {
        public Options {
            keepFp32 = java.util.Set.copyOf(keepFp32);
        }

        public static Options defaults() {
            return new Options(Gates.defaults(), null, java.util.Set.of(), Parity.Options.defaults());
        }

        public Options withGates(Gates g) {
            return new Options(g, emulation, keepFp32, parity);
        }

        public Options withEmulation(Emulation.Mode m) {
            return new Options(gates, m, keepFp32, parity);
        }

        public Options withKeepFp32(java.util.Set<String> nodes) {
            return new Options(gates, emulation, nodes, parity);
        }

        public Options withParity(Parity.Options p) {
            return new Options(gates, emulation, keepFp32, p);
        }
    }

    /** Runs both models on {@code inputs} and judges the candidate. */
    public static Verdict verify(ModelSource reference, ModelSource candidate, List<Map<String, TensorData>> inputs,
                                 SessionFactory factory, Options options) {
        try (OpenedSession ref = factory.open(reference); OpenedSession cand = openCandidate(candidate, factory, options)) {
            String candLabel = options.emulation() == null ? candidate.label()
                    : candidate.label() + " [" + options.emulation().label + "]";
            SamplePerplexity ppl = new SamplePerplexity(logitsName(ref));
            ParityReport parity = Parity.compare(reference.label(), ref, candLabel, cand, inputs, options.parity(),
                    ppl::add);
            return judge(parity, ppl.result(), options.gates(),
                    options.emulation() == null ? "none" : options.emulation().label);
        }
    }

    private static OpenedSession openCandidate(ModelSource candidate, SessionFactory factory, Options options) {
        if (options.emulation() == null) {
            return factory.open(candidate);
        }
        ModelSource inMemory = candidate.model() != null ? candidate : ModelSource.read(candidate.path());
        try {
            return Emulation.open(inMemory, options.emulation(), factory, true, options.keepFp32()).opened();
        } catch (IllegalArgumentException e) { // e.g. an FP16 candidate: the emulation needs the FP32 graph
            throw new IllegalArgumentException(candidate.label() + ": " + e.getMessage()
                    + (e.getMessage().contains("FLOAT16") ? " (write the candidate with --no-fp16 to emulate it)" : ""), e);
        }
    }

    private static String logitsName(OpenedSession s) {
        try {
            java.util.Set<String> names = s.session().getOutputNames();
            return names.contains("logits") || names.size() != 1 ? "logits" : names.iterator().next();
        } catch (RuntimeException e) {
            return "logits";
        }
    }

    /** Applies the gates to figures already measured. */
    public static Verdict judge(ParityReport parity, PerplexityFigures perplexity, Gates gates, String emulation) {
        List<OutputVerdict> outputs = new ArrayList<>();
        for (OutputParity o : parity.outputs()) {
            outputs.add(judge(o, gates));
        }
        List<String> pplFailures = new ArrayList<>();
        if (perplexity != null && Gates.on(gates.maxPplIncreasePct())
                && !(perplexity.increasePct() <= gates.maxPplIncreasePct())) {
            pplFailures.add(String.format(Locale.ROOT, "perplexity %s -> %s (%s) > +%s%%", num(perplexity.reference()),
                    num(perplexity.candidate()), pct(perplexity.increasePct()), num(gates.maxPplIncreasePct())));
        }
        OutputVerdict worst = outputs.stream().min(WORST_FIRST).orElse(null);
        boolean passed = outputs.stream().allMatch(OutputVerdict::passed) && pplFailures.isEmpty();
        String where = emulation.equals("none") ? "" : " (emulation " + emulation + ")";
        String line;
        if (worst == null) {
            line = "verdict FAIL: the models have no outputs to compare";
            passed = false;
        } else if (passed) {
            line = "verdict PASS: worst output '" + worst.name() + "': " + figures(worst, perplexity) + where;
        } else {
            List<String> why = new ArrayList<>(worst.failures());
            if (worst.passed() || !pplFailures.isEmpty()) {
                why.addAll(pplFailures);
            }
            long failing = outputs.stream().filter(o -> !o.passed()).count();
            line = "verdict FAIL: output '" + worst.name() + "': " + String.join("; ", why)
                    + (failing > 1 ? " (" + failing + " of " + outputs.size() + " outputs fail)" : "") + where;
        }
        return new Verdict(passed, line, worst == null ? null : worst.name(), outputs, perplexity, pplFailures, gates,
                emulation, parity);
    }

    /** Failing outputs first (most failures), then the lowest cosine. */
    private static final Comparator<OutputVerdict> WORST_FIRST = Comparator
            .comparingInt((OutputVerdict o) -> -o.failures().size())
            .thenComparingDouble(o -> Double.isNaN(o.cosine()) ? Double.NEGATIVE_INFINITY : o.cosine());

    static OutputVerdict judge(OutputParity o, Gates g) {
        List<String> failures = new ArrayList<>();
        long nonFinite = Math.max(0, o.candidateNaN() + o.candidateInf() - o.referenceNaN() - o.referenceInf());
        if (nonFinite > 0) {
            failures.add(nonFinite + " NaN/inf value" + (nonFinite == 1 ? "" : "s") + " where the reference is finite");
        }
        if (Gates.on(g.minCosine()) && !(o.cosine() >= g.minCosine())) {
            failures.add(String.format(Locale.ROOT, "cosine %.6f < %s", o.cosine(), num(g.minCosine())));
        }
        if (Gates.on(g.maxAbs()) && !(o.maxAbsError() <= g.maxAbs())) {
            failures.add("max abs error " + num(o.maxAbsError()) + " > " + num(g.maxAbs()));
        }
        if (Gates.on(g.maxRel()) && !(o.maxRelError() <= g.maxRel())) {
            failures.add("max rel error " + num(o.maxRelError()) + " > " + num(g.maxRel()));
        }
        double top1 = Double.NaN;
        double kl = Double.NaN;
        if (o.nextToken() != null) {
            top1 = o.nextToken().top1Agreement();
            kl = o.nextToken().meanKl();
            if (Gates.on(g.minTop1()) && !(top1 >= g.minTop1())) {
                failures.add(String.format(Locale.ROOT, "top-1 agreement %.2f%% < %.2f%%", 100 * top1, 100 * g.minTop1()));
            }
            if (Gates.on(g.maxKl()) && !(kl <= g.maxKl())) {
                failures.add("mean KL " + num(kl) + " > " + num(g.maxKl()));
            }
        }
        return new OutputVerdict(o.name(), o.cosine(), o.maxAbsError(), o.maxRelError(), top1, kl, nonFinite, failures);
    }

    private static String figures(OutputVerdict o, PerplexityFigures ppl) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "cosine %.6f, max abs %s", o.cosine(), num(o.maxAbs())));
        if (!Double.isNaN(o.top1())) {
            sb.append(String.format(Locale.ROOT, ", top-1 %.2f%%, mean KL %s", 100 * o.top1(), num(o.meanKl())));
        }
        if (ppl != null) {
            sb.append(", perplexity ").append(pct(ppl.increasePct()));
        }
        return sb.toString();
    }

    static String num(double v) {
        return String.format(Locale.ROOT, "%.3g", v);
    }

    static String pct(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%+.3f%%", v) : (Double.isNaN(v) ? "NaN" : "+inf") + "%";
    }
}
