package io.onnxslanc.check.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs a session on neutral tensors and returns every output as neutral tensors. */
public final class Runs {
    private Runs() {}

    public static Map<String, TensorData> run(OrtSession session, String label, Map<String, TensorData> inputs) {
        OrtEnvironment env = io.onnxslanc.check.ep.OrtLogging.environment();
        List<OnnxTensor> created = new ArrayList<>();
        try {
            Map<String, NodeInfo> expected = session.getInputInfo();
            for (String name : inputs.keySet())
                if (!expected.containsKey(name))
                    throw new IllegalArgumentException(label + ": model has no input '" + name + "' (inputs: " + expected.keySet() + ")");
            Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
            for (Map.Entry<String, NodeInfo> e : expected.entrySet()) {
                TensorData d = inputs.get(e.getKey());
                if (d == null) throw new IllegalArgumentException(label + ": no value given for input '" + e.getKey() + "'");
                if (!(e.getValue().getInfo() instanceof TensorInfo info))
                    throw new IllegalArgumentException(label + ": input '" + e.getKey() + "' is not a tensor");
                OnnxTensor t = d.toOnnx(env, e.getKey(), info);
                created.add(t);
                feeds.put(e.getKey(), t);
            }
            Map<String, TensorData> out = new LinkedHashMap<>();
            try (OrtSession.Result r = session.run(feeds)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    if (!(e.getValue() instanceof OnnxTensor t))
                        throw new IllegalArgumentException(label + ": output '" + e.getKey() + "' is not a tensor");
                    out.put(e.getKey(), TensorData.fromOnnx(t));
                }
            }
            return out;
        } catch (OrtException e) {
            throw new RunFailedException(label, e.getMessage(), e);
        } finally {
            created.forEach(OnnxTensor::close);
        }
    }
}
