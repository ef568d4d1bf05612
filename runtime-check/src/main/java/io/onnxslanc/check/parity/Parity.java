package io.onnxslanc.check.parity;

import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Runs an FP32 reference and a candidate (FP16, SLaNC, emulated) on the same inputs and compares every output.
 * Both sessions must use the same optimisation level, so that neither gets fusions the other lacks.
 */
public final class Parity {
    private Parity() {}

    /** vocabSize <= 0: unknown (then only outputs named *logits* count as language-model outputs). */
    public record Options(long vocabSize, double relativeErrorFloor) {
        public static Options defaults() {
            return new Options(-1, 1e-3);
        }
    }

    public static ParityReport compare(ModelSource reference, ModelSource candidate, List<Map<String, TensorData>> inputs,
                                       SessionFactory factory, Options options) {
        try (OpenedSession ref = factory.open(reference); OpenedSession cand = factory.open(candidate)) {
            return compare(reference.label(), ref, candidate.label(), cand, inputs, options);
        }
    }

    public static ParityReport compare(String refLabel, OpenedSession ref, String candLabel, OpenedSession cand,
                                       List<Map<String, TensorData>> inputs, Options options) {
        return compare(refLabel, ref, candLabel, cand, inputs, options, null);
    }

    /** Sees each sample's feed and both sessions' outputs (e.g. to score next-token likelihoods from the same runs). */
    @FunctionalInterface
    public interface SampleObserver {
        void sample(Map<String, TensorData> feed, Map<String, TensorData> reference, Map<String, TensorData> candidate);
    }

    /** As above; {@code observer} (may be null) is called once per sample, so nothing is run twice. */
    public static ParityReport compare(String refLabel, OpenedSession ref, String candLabel, OpenedSession cand,
                                       List<Map<String, TensorData>> inputs, Options options, SampleObserver observer) {
        if (!ref.info().optLevel().equals(cand.info().optLevel()))
            throw new IllegalArgumentException("reference " + refLabel + " runs at optimisation level " + ref.info().optLevel()
                    + " but candidate " + candLabel + " at " + cand.info().optLevel() + "; compare at the same level");
        if (inputs.isEmpty()) throw new IllegalArgumentException("no inputs to compare " + refLabel + " and " + candLabel + " on");
        Set<String> refOut = ref.session().getOutputNames(), candOut = cand.session().getOutputNames();
        if (!refOut.equals(candOut)) {
            Set<String> onlyRef = new TreeSet<>(refOut), onlyCand = new TreeSet<>(candOut);
            onlyRef.removeAll(candOut);
            onlyCand.removeAll(refOut);
            throw new IllegalArgumentException("reference " + refLabel + " and candidate " + candLabel + " have different outputs: only in "
                    + "reference " + onlyRef + ", only in candidate " + onlyCand);
        }
        Map<String, OutputStats> stats = new LinkedHashMap<>();
        for (Map<String, TensorData> feed : inputs) {
            Map<String, TensorData> r = Runs.run(ref.session(), refLabel, feed);
            Map<String, TensorData> c = Runs.run(cand.session(), candLabel, feed);
            if (observer != null) observer.sample(feed, r, c);
            for (Map.Entry<String, TensorData> e : r.entrySet()) {
                TensorData rv = e.getValue(), cv = c.get(e.getKey());
                if (!Arrays.equals(rv.shape(), cv.shape()))
                    throw new IllegalArgumentException("output '" + e.getKey() + "' has shape " + Arrays.toString(rv.shape()) + " in reference "
                            + refLabel + " but " + Arrays.toString(cv.shape()) + " in candidate " + candLabel);
                if (rv.isFloat() != cv.isFloat())
                    throw new IllegalArgumentException("output '" + e.getKey() + "' is " + rv + " in reference " + refLabel
                            + " but " + cv + " in candidate " + candLabel);
                stats.computeIfAbsent(e.getKey(), k -> new OutputStats(k, rv.shape(), isLanguageModel(k, rv.shape(), options.vocabSize())))
                        .add(floats(rv), floats(cv), options.relativeErrorFloor());
            }
        }
        List<OutputParity> outputs = new ArrayList<>();
        for (OutputStats s : stats.values()) outputs.add(s.result());
        return new ParityReport(refLabel, candLabel, ref.info(), cand.info(), inputs.size(), options.relativeErrorFloor(), outputs);
    }

    static boolean isLanguageModel(String name, long[] shape, long vocab) {
        if (shape.length == 0 || shape[shape.length - 1] < 2) return false;
        return name.toLowerCase(Locale.ROOT).contains("logits") || (shape.length == 3 && vocab > 1 && shape[2] == vocab);
    }

    private static float[] floats(TensorData t) {
        if (t.isFloat()) return t.floats();
        float[] f = new float[t.longs().length];
        for (int i = 0; i < f.length; i++) f[i] = t.longs()[i];
        return f;
    }

    /** Running statistics of one output over all samples, in double. */
    private static final class OutputStats {
        final String name;
        final long[] shape;
        final boolean languageModel;
        long elements, finitePairs, refNaN, refInf, candNaN, candInf;
        double sumAbs, maxAbs, maxRel, dot, refSq, candSq;
        long positions, agreeing, nonFiniteRows;
        double klSum;

        OutputStats(String name, long[] shape, boolean languageModel) {
            this.name = name;
            this.shape = shape;
            this.languageModel = languageModel;
        }

        void add(float[] ref, float[] cand, double floor) {
            for (int i = 0; i < ref.length; i++) {
                double r = ref[i], c = cand[i];
                if (Double.isNaN(r)) refNaN++;
                else if (Double.isInfinite(r)) refInf++;
                if (Double.isNaN(c)) candNaN++;
                else if (Double.isInfinite(c)) candInf++;
                elements++;
                if (!Double.isFinite(r) || !Double.isFinite(c)) continue;
                double d = Math.abs(c - r);
                finitePairs++;
                sumAbs += d;
                maxAbs = Math.max(maxAbs, d);
                maxRel = Math.max(maxRel, d / Math.max(Math.abs(r), floor));
                dot += r * c;
                refSq += r * r;
                candSq += c * c;
            }
            if (languageModel) addRows(ref, cand, (int) shape[shape.length - 1]);
        }

        private void addRows(float[] ref, float[] cand, int v) {
            for (int off = 0; off < ref.length; off += v) {
                positions++;
                if (!allFinite(cand, off, v) || !allFinite(ref, off, v)) {
                    nonFiniteRows++;
                    klSum = Double.POSITIVE_INFINITY;
                    continue;
                }
                if (argmax(ref, off, v) == argmax(cand, off, v)) agreeing++;
                klSum += kl(ref, cand, off, v);
            }
        }

        /** KL(p || q) with p = softmax(ref row), q = softmax(cand row), via log-softmax in double. */
        private static double kl(float[] ref, float[] cand, int off, int v) {
            double lr = logSumExp(ref, off, v), lc = logSumExp(cand, off, v), kl = 0;
            for (int j = off; j < off + v; j++) {
                double logp = ref[j] - lr, logq = cand[j] - lc;
                kl += Math.exp(logp) * (logp - logq);
            }
            return Math.max(kl, 0);
        }

        private static double logSumExp(float[] a, int off, int v) {
            double max = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = off; j < off + v; j++) max = Math.max(max, a[j]);
            for (int j = off; j < off + v; j++) s += Math.exp(a[j] - max);
            return max + Math.log(s);
        }

        private static int argmax(float[] a, int off, int v) {
            int best = off;
            for (int j = off + 1; j < off + v; j++) if (a[j] > a[best]) best = j;
            return best - off;
        }

        private static boolean allFinite(float[] a, int off, int v) {
            for (int j = off; j < off + v; j++) if (!Float.isFinite(a[j])) return false;
            return true;
        }

        OutputParity result() {
            double cosine = refSq == 0 || candSq == 0 ? (refSq == candSq ? 1 : 0) : dot / Math.sqrt(refSq * candSq);
            OutputParity.NextTokenAgreement lm = !languageModel ? null : new OutputParity.NextTokenAgreement(positions,
                    positions == 0 ? Double.NaN : (double) agreeing / positions, positions == 0 ? Double.NaN : klSum / positions, nonFiniteRows);
            return new OutputParity(name, shape, elements, maxAbs, finitePairs == 0 ? Double.NaN : sumAbs / finitePairs, maxRel,
                    cosine, refNaN, refInf, candNaN, candInf, lm);
        }
    }
}
