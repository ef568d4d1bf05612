package io.onnxslanc.check.probe;

import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The norm probe: exposes the tensor feeding each norm as an extra graph output, runs the model on the inputs and
 * measures, per norm, how close the sum of squares of a row comes to the FP16 limits, next to the SLaNC prediction.
 */
public final class NormProbe {
    private NormProbe() {}

    public static final double FP16_MAX = 65504;
    public static final double FP16_MIN_NORMAL = 6.103515625e-5; // 2^-14

    public static ProbeReport run(ModelSource source, List<NormTap> taps, List<Map<String, TensorData>> inputs, SessionFactory factory) {
        if (taps.isEmpty()) throw new IllegalArgumentException(source.label() + ": no norms to probe");
        ModelProto model = source.proto();
        GraphProto g = model.getGraph();
        Set<String> graphInputs = new HashSet<>(), present = new HashSet<>();
        g.getInputList().forEach(v -> graphInputs.add(v.getName()));
        g.getOutputList().forEach(v -> present.add(v.getName()));
        Set<String> initializers = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) initializers.add(t.getName());
        Set<String> produced = new HashSet<>();
        g.getNodeList().forEach(n -> produced.addAll(n.getOutputList()));

        GraphProto.Builder probed = g.toBuilder();
        for (NormTap t : taps) {
            String name = t.inputTensorName();
            if (initializers.contains(name) && !graphInputs.contains(name))
                throw new IllegalArgumentException(source.label() + ": norm '" + t.normName() + "' reads '" + name + "', a constant, not an activation");
            if (!produced.contains(name) && !graphInputs.contains(name))
                throw new IllegalArgumentException(source.label() + ": norm '" + t.normName() + "' reads '" + name + "', which no node produces");
            if (!graphInputs.contains(name) && present.add(name)) probed.addOutput(ValueInfoProto.newBuilder().setName(name));
        }
        ModelSource probedSource = source.withModel(model.toBuilder().setGraph(probed).build(), "probe");

        List<Accumulator> acc = new ArrayList<>();
        for (NormTap t : taps) acc.add(new Accumulator(t));
        try (OpenedSession s = factory.open(probedSource)) {
            for (Map<String, TensorData> feed : inputs) {
                Map<String, TensorData> out = Runs.run(s.session(), probedSource.label(), feed);
                for (Accumulator a : acc) {
                    TensorData x = out.containsKey(a.tap.inputTensorName()) ? out.get(a.tap.inputTensorName()) : feed.get(a.tap.inputTensorName());
                    a.add(x, source.label());
                }
            }
            List<NormStats> stats = new ArrayList<>();
            for (Accumulator a : acc) stats.add(a.result());
            return new ProbeReport(source.label(), s.info(), inputs.size(), stats);
        }
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
        long rows, overflowRows;
        double maxAbs, maxSumSq, minSumSq = Double.POSITIVE_INFINITY, maxFp16 = 0, sumNorm, maxNorm, minNorm = Double.POSITIVE_INFINITY;

        Accumulator(NormTap tap) {
            this.tap = tap;
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
