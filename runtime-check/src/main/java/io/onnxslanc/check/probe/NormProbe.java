package io.onnxslanc.check.probe;

import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.model.IrModels;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The norm probe: exposes the tensor feeding each norm as an extra graph output (from If branches too, see TapOutputs), runs the model on the inputs and
 * measures, per norm, how close the sum of squares of a row comes to the FP16 limits, next to the SLaNC prediction.
 */
public final class NormProbe {
    private NormProbe() {}

    public static final double FP16_MAX = 65504;
    public static final double FP16_MIN_NORMAL = 6.103515625e-5; // 2^-14

    public static ProbeReport run(ModelSource source, List<NormTap> taps, List<Map<String, TensorData>> inputs, SessionFactory factory) {
        if (taps.isEmpty()) throw new IllegalArgumentException(source.label() + ": no norms to probe");
        Model model = IrModels.read(source.proto(), source.path() != null ? source.path() : source.externalDataDir() == null ? null
                : source.externalDataDir().resolve("model.onnx"));
        List<Accumulator> acc = new ArrayList<>();
        Map<Value, String> exposed = new IdentityHashMap<>(); // tapped value -> the graph output (or input) to read it from
        for (NormTap t : taps) {
            String name = t.inputTensorName();
            List<String> readFrom = new ArrayList<>();
            for (Value v : tapped(model, t)) {
                if (v.isInitializer() && !v.isGraphInput())
                    throw new IllegalArgumentException(source.label() + ": norm '" + t.normName() + "' reads '" + name + "', a constant, not an activation");
                readFrom.add(exposed.computeIfAbsent(v, x -> x.isGraphInput() && x.graph() == model.graph() ? x.name() : TapOutputs.expose(model, x)));
            }
            if (readFrom.isEmpty())
                throw new IllegalArgumentException(source.label() + ": norm '" + t.normName() + "' reads '" + name + "', which no node produces");
            acc.add(new Accumulator(t, readFrom));
        }
        ModelSource probedSource = source.withModel(IrModels.toProto(model), "probe");

        try (OpenedSession s = factory.open(probedSource)) {
            for (Map<String, TensorData> feed : inputs) {
                Map<String, TensorData> out = Runs.run(s.session(), probedSource.label(), feed);
                for (Accumulator a : acc)
                    for (String name : a.readFrom) {
                        TensorData x = out.containsKey(name) ? out.get(name) : feed.get(name);
                        if (x != null && x.size() > 0) a.add(x, source.label()); // empty: the run took another If branch
                    }
            }
            List<NormStats> stats = new ArrayList<>();
            for (Accumulator a : acc) stats.add(a.result());
            return new ProbeReport(source.label(), s.info(), inputs.size(), stats);
        }
    }

    /**
     * The value a tap reads: looked up from the tap's scope (a body sees the tensors of the graphs around it); a tap
     * without a known scope reads every tensor of that name, in whichever scope it is.
     */
    private static List<Value> tapped(Model model, NormTap t) {
        io.onnxslanc.ir.Graph scope = t.scope().isEmpty() ? model.graph() : io.onnxslanc.ir.GraphScopes.find(model.graph(), t.scope());
        Value v = scope == null ? null : scope.lookup(t.inputTensorName());
        if (v != null) return List.of(v);
        return t.scope().isEmpty() ? TapOutputs.named(model, t.inputTensorName()) : List.of();
    }

    /** Left-to-right FP16 accumulation of the squares of FP16-rounded values; exact double rounding-wise (24 >= 2*11+2 bits). */
    static float fp16SumOfSquares(float[] x, int offset, int d) {
        float acc = 0;
        for (int j = offset; j < offset + d; j++) {
            float h = FloatBits.roundTripHalf(x[j]);
            acc = FloatBits.roundTripHalf(acc + FloatBits.roundTripHalf(h * h));
        }
        return acc;
    }

    private static final class Accumulator {
        final NormTap tap;
        final List<String> readFrom;
        long rows, overflowRows;
        double maxAbs, maxSumSq, minSumSq = Double.POSITIVE_INFINITY, maxFp16 = 0, sumNorm, maxNorm, minNorm = Double.POSITIVE_INFINITY;

        Accumulator(NormTap tap, List<String> readFrom) {
            this.tap = tap;
            this.readFrom = readFrom;
        }

        void add(TensorData x, String label) {
            int d = tap.hiddenSize();
            long[] shape = x.shape();
            if (!x.isFloat() || shape.length == 0 || shape[shape.length - 1] != d)
                throw new IllegalArgumentException(label + ": norm '" + tap.normName() + "': tensor '" + tap.inputTensorName() + "' is " + x
                        + ", expected floats with last dimension " + d);
            float[] v = x.floats();
            for (int off = 0; off < v.length; off += d) {
                double ss = 0;
                for (int j = off; j < off + d; j++) {
                    ss += (double) v[j] * v[j];
                    maxAbs = Math.max(maxAbs, Math.abs(v[j]));
                }
                float h = fp16SumOfSquares(v, off, d);
                if (Float.isInfinite(h)) overflowRows++;
                maxFp16 = Math.max(maxFp16, h);
                maxSumSq = Math.max(maxSumSq, ss);
                minSumSq = Math.min(minSumSq, ss);
                double norm = Math.sqrt(ss);
                sumNorm += norm;
                maxNorm = Math.max(maxNorm, norm);
                minNorm = Math.min(minNorm, norm);
                rows++;
            }
        }

        NormStats result() {
            double meanNorm = rows == 0 ? Double.NaN : sumNorm / rows;
            double headroom = FP16_MAX / maxSumSq;
            boolean overflows = overflowRows > 0 || maxSumSq > FP16_MAX;
            return new NormStats(tap.normName(), tap.inputTensorName(), tap.hiddenSize(), rows, maxAbs, maxSumSq, minSumSq, maxFp16,
                    overflowRows, headroom, Math.log(headroom) / Math.log(2), minSumSq / FP16_MIN_NORMAL, meanNorm, maxNorm, minNorm,
                    tap.predictedScale(), meanNorm / tap.predictedScale(), overflows);
        }
    }
}
