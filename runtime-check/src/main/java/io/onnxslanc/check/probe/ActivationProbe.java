package io.onnxslanc.check.probe;

import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The norm probe's machinery applied to every node output: each main-graph node's outputs (Constant nodes aside) are
 * exposed as graph outputs, the model runs on the inputs, and the largest |x| of every float tensor is kept. Values
 * that are NaN or infinite count as infinitely large. This is what tells which activations an FP16 model cannot
 * hold (|x| > 65504), wherever they are.
 */
public final class ActivationProbe {
    private ActivationProbe() {
    }

    /** Largest |x| per float node output, in graph order. */
    public static Map<String, Double> maxAbs(ModelSource source, List<Map<String, TensorData>> inputs, SessionFactory factory) {
        ModelProto model = source.proto();
        GraphProto g = model.getGraph();
        Set<String> present = new HashSet<>();
        g.getOutputList().forEach(v -> present.add(v.getName()));
        GraphProto.Builder probed = g.toBuilder();
        List<String> order = new java.util.ArrayList<>();
        for (NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("Constant")) {
                continue;
            }
            for (String o : n.getOutputList()) {
                if (o.isEmpty()) {
                    continue;
                }
                order.add(o);
                if (present.add(o)) {
                    probed.addOutput(ValueInfoProto.newBuilder().setName(o));
                }
            }
        }
        Map<String, Double> max = new LinkedHashMap<>();
        ModelSource probedSource = source.withModel(model.toBuilder().setGraph(probed).build(), "activation probe");
        try (OpenedSession s = factory.open(probedSource)) {
            for (Map<String, TensorData> feed : inputs) {
                Map<String, TensorData> out = Runs.run(s.session(), probedSource.label(), feed);
                for (String name : order) {
                    TensorData t = out.get(name);
                    if (t == null || !t.isFloat()) {
                        continue;
                    }
                    double m = max.getOrDefault(name, 0.0);
                    for (float v : t.floats()) {
                        double a = Float.isFinite(v) ? Math.abs(v) : Double.POSITIVE_INFINITY;
                        if (a > m) {
                            m = a;
                        }
                    }
                    max.put(name, m);
                }
            }
        }
        return max;
    }
}
