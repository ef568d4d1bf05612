package io.onnxslanc.calibrate;

import io.onnxslanc.calibrate.blocks.BlockKind;
import io.onnxslanc.calibrate.blocks.HeapCopies;
import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.calibrate.blocks.NormNames;
import io.onnxslanc.calibrate.blocks.WeightRef;
import io.onnxslanc.calibrate.blocks.WeightRole;
import io.onnxslanc.calibrate.math.ScaleResult;
import io.onnxslanc.calibrate.math.SlancScales;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.util.ArrayList;
import java.util.List;

/**
 * Computes the SLaNC scale of each norm from the weights of the block in front of it (docs/method.md), in double.
 * Weights are mapped one block at a time and unmapped right after, so a large model with external data keeps a
 * small resident set. NaN or infinite weights stop the calibration with a {@link CalibrationException} naming the
 * weight, before anything is changed.
 */
public final class SlancCalibrator {

    private SlancCalibrator() {
    }

    public static List<NormCalibration> compute(List<NormBlock> blocks, SlancOptions options) {
        List<NormCalibration> out = new ArrayList<>(blocks.size());
        options.progress().begin("SLaNC scales", blocks.size());
        try (WeightPrefetcher prefetch = new WeightPrefetcher()) {
            for (int i = 0; i < blocks.size(); i++) {
                if (i + 1 < blocks.size()) {
                    prefetch.warm(blocks.get(i + 1).weights().values()); // disk reads overlap this block's arithmetic
                }
                out.add(compute(blocks.get(i), options));
                options.progress().advance(1);
            }
        } finally {
            HeapCopies.releaseAll();
            options.progress().end();
        }
        return out;
    }

    static NormCalibration compute(NormBlock b, SlancOptions options) {
        String badEpsilon = b.kind() == BlockKind.UNKNOWN ? null : badEpsilon(b.site().epsilon().value());
        if (badEpsilon != null) {
            return new NormCalibration(b, null, null, badEpsilon);
        }
        switch (b.kind()) {
            case FIRST:
                return new NormCalibration(b, null, options.firstNormFromEmbedding() ? firstNormScale(b, options) : 1.0, null);
            case UNKNOWN:
                return new NormCalibration(b, null, null, b.reason());
            default:
                break;
        }
        String where = "norm '" + NormNames.of(b.site()) + "' (" + b.kind().label()
                + (b.kind() == BlockKind.FINAL ? ", " + b.formula().label() + " in front" : "") + " block)";
        ScaleResult r;
        try {
            r = scale(b, options.math());
        } catch (IllegalArgumentException e) {
            throw new CalibrationException(where + ": " + e.getMessage(), e);
        }
        if (!Double.isFinite(r.scale())) {
            throw new CalibrationException(where + ": the scale is " + r.scale() + "; the weights in front are too large for double");
        }
        if (r.scale() == 0) {
            return new NormCalibration(b, r, null, "the weights in front of the norm are all zero (s = 0)");
        }
        boolean round = options.powerOfTwo() || b.site().kind().hasSkipInput();
        double s = round ? SlancScales.roundToPowerOfTwo(r.scale()) : r.scale();
        return new NormCalibration(b, r, s, null);
    }

    /**
     * Why a norm's epsilon rules out scaling, or null when it is fine. Epsilon keeps var + eps away from zero, so
     * the ONNX norms take it as a non-negative number; a NaN or negative one (a corrupt or hand-edited model) makes
     * the norm's output NaN for some inputs already, and rescaling it would hide that, so the norm is left alone
     * and --strict fails. Zero is allowed: eps / s^2 = 0 is exact.
     */
    static String badEpsilon(double eps) {
        if (Double.isNaN(eps)) {
            return "epsilon is NaN";
        }
        if (eps < 0) {
            return "epsilon is negative (" + eps + ")";
        }
        if (Double.isInfinite(eps)) {
            return "epsilon is infinite";
        }
        return null;
    }

    /** The largest embedding row norm that can reach the first norm; s = 1 when its input is not built from tables. */
    private static double firstNormScale(NormBlock b, SlancOptions options) {
        double bound;
        try {
            bound = EmbeddingBound.ofNormInput(b.site());
        } catch (IllegalArgumentException e) {
            return 1.0;
        }
        if (!(bound > 0) || !Double.isFinite(bound)) {
            return 1.0;
        }
        return options.powerOfTwo() || b.site().kind().hasSkipInput() ? SlancScales.roundToPowerOfTwo(bound) : bound;
    }

    private static ScaleResult scale(NormBlock b, SlancScales.Options math) {
        NormBlock f = b.formulaBlock();
        var w = f.weights();
        if (f instanceof NormBlock.Attention a) {
            NormBlock.Heads h = a.heads();
            try (WeightRef.Loaded wv = w.get(WeightRole.V).load(); WeightRef.Loaded wo = w.get(WeightRole.O).load()) {
                double[] gamma = gamma(a.gamma(), wv.view().cols());
                return SlancScales.attention(wv.view(), wo.view(), gamma, h.nHeads(), h.nKvHeads(), h.kvTiled(), math);
            }
        }
        if (f instanceof NormBlock.CrossAttention a) {
            NormBlock.Heads h = a.heads();
            try (WeightRef.Loaded wv = w.get(WeightRole.V).load(); WeightRef.Loaded wo = w.get(WeightRole.O).load()) {
                double[] prev = gamma(a.gamma(), wo.view().rows());
                double[] mem = gamma(a.memoryGamma(), wv.view().cols());
                return SlancScales.crossAttention(wv.view(), wo.view(), prev, mem, h.nHeads(), h.nKvHeads(), h.kvTiled(),
                        math);
            }
        }
        if (f instanceof NormBlock.Parallel p) {
            NormBlock.Heads h = p.heads();
            try (WeightRef.Loaded wv = w.get(WeightRole.V).load(); WeightRef.Loaded wo = w.get(WeightRole.O).load()) {
                double[] gamma = gamma(p.gamma(), wv.view().cols());
                if (p.gatedMlp()) {
                    try (WeightRef.Loaded gate = w.get(WeightRole.GATE).load(); WeightRef.Loaded up = w.get(WeightRole.UP).load();
                         WeightRef.Loaded down = w.get(WeightRole.DOWN).load()) {
                        return SlancScales.parallelGated(wv.view(), wo.view(), gate.view(), up.view(), down.view(), gamma,
                                h.nHeads(), h.nKvHeads(), h.kvTiled(), math);
                    }
                }
                try (WeightRef.Loaded w1 = w.get(WeightRole.W1).load(); WeightRef.Loaded w2 = w.get(WeightRole.W2).load()) {
                    return SlancScales.parallel(wv.view(), wo.view(), w1.view(), w2.view(), gamma, h.nHeads(), h.nKvHeads(),
                            h.kvTiled(), math);
                }
            }
        }
        if (f instanceof NormBlock.Norm n) {
            long d = n.feedingNorm().hiddenSize() > 0 ? n.feedingNorm().hiddenSize() : n.site().hiddenSize();
            if (n.gamma() == null && d <= 0) {
                throw new IllegalArgumentException("the norm it reads has no gain and an unknown width");
            }
            int size = n.gamma() != null && d <= 0 ? (int) Constants.tensor(n.gamma()).elementCount() : (int) d;
            return SlancScales.normOfNorm(gamma(n.gamma(), size), size);
        }
        if (f instanceof NormBlock.GatedMlp m) {
            try (WeightRef.Loaded gate = w.get(WeightRole.GATE).load(); WeightRef.Loaded up = w.get(WeightRole.UP).load();
                 WeightRef.Loaded down = w.get(WeightRole.DOWN).load()) {
                double[] gamma = gamma(m.gamma(), up.view().cols());
                return SlancScales.gatedMlp(gate.view(), up.view(), down.view(), gamma, math);
            }
        }
        if (f instanceof NormBlock.Mlp m) {
            try (WeightRef.Loaded w1 = w.get(WeightRole.W1).load(); WeightRef.Loaded w2 = w.get(WeightRole.W2).load()) {
                double[] gamma = gamma(m.gamma(), w1.view().cols());
                return SlancScales.plainMlp(w1.view(), w2.view(), gamma, math);
            }
        }
        if (f instanceof NormBlock.AttentionOutput a) {
            NormBlock.Heads h = a.heads();
            try (WeightRef.Loaded wv = w.get(WeightRole.V).load(); WeightRef.Loaded wo = w.get(WeightRole.O).load()) {
                double[] gamma = gamma(a.gamma(), wv.view().cols());
                return SlancScales.attention(wv.view(), wo.view(), gamma, h.nHeads(), h.nKvHeads(), h.kvTiled(),
                        math.withResidual(false)); // the block's output alone: no identity term
            }
        }
        if (f instanceof NormBlock.SandwichAttention a) {
            NormBlock.Heads h = a.heads();
            try (WeightRef.Loaded wv = w.get(WeightRole.V).load(); WeightRef.Loaded wo = w.get(WeightRole.O).load()) {
                return SlancScales.sandwichAttention(wv.view(), wo.view(), gamma(a.gamma(), wv.view().cols()),
                        gamma(a.innerGamma(), wo.view().rows()), h.nHeads(), h.nKvHeads(), h.kvTiled(), math);
            }
        }
        if (f instanceof NormBlock.SandwichMlp m) {
            int d = (int) m.site().hiddenSize();
            if (d <= 0) {
                throw new IllegalArgumentException("the norm's width is unknown");
            }
            return SlancScales.sandwichGated(gamma(m.gamma(), d), gamma(m.innerGamma(), d), d);
        }
        if (f instanceof NormBlock.Projection p) {
            try (WeightRef.Loaded proj = w.get(WeightRole.PROJECTION).load()) {
                return SlancScales.projectionGroups(proj.view(), gamma(p.gamma(), proj.view().cols()), p.heads().nHeads());
            }
        }
        throw new IllegalStateException("no formula for " + b.formula());
    }

    /** The gain as d doubles (a scalar gain is broadcast), checked for NaN / infinity; null stays identity. */
    static double[] gamma(Value gammaValue, int d) {
        if (gammaValue == null) {
            return null;
        }
        Tensor t = io.onnxslanc.canon.ConstantFolder.value(gammaValue); // a gain may be an expression: 1 + w, w * c
        if (t == null) {
            throw new IllegalArgumentException("gain '" + gammaValue.name() + "' is not a constant");
        }
        double[] raw = readDoubles(t, gammaValue.name());
        if (raw.length != 1 && raw.length != d) {
            throw new IllegalArgumentException("gain '" + gammaValue.name() + "' has " + raw.length + " values, expected " + d);
        }
        double[] g = new double[d];
        for (int i = 0; i < d; i++) {
            g[i] = raw.length == 1 ? raw[0] : raw[i];
        }
        return g;
    }

    /** Gains are small (d values), so the tensor's own decoder is fine; its mapping is left to the GC. */
    private static double[] readDoubles(Tensor t, String name) {
        if (!t.dataType().isFloatingPoint()) {
            throw new IllegalArgumentException("gain '" + name + "' is " + t.dataType() + ", not a float type");
        }
        double[] out = t.toDoubles();
        for (int i = 0; i < out.length; i++) {
            if (!Double.isFinite(out[i])) {
                throw new IllegalArgumentException("gain '" + name + "' contains " + out[i] + " at index " + i);
            }
        }
        return out;
    }
}
