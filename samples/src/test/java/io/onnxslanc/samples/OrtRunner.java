package io.onnxslanc.samples;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test helper: runs a model file on the CPU provider and returns every output's raw bytes. */
final class OrtRunner {
    private OrtRunner() {
    }

    /** Feeds BERT-style inputs (input_ids, attention_mask, token_type_ids) for the given token ids. */
    static Map<String, ByteBuffer> runEncoder(Path model, long[] ids) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
            try (OrtSession s = env.createSession(model.toString(), so)) {
                Map<String, OnnxTensor> inputs = new HashMap<>();
                long[] shape = {1, ids.length};
                for (Map.Entry<String, NodeInfo> e : s.getInputInfo().entrySet()) {
                    long[] data = new long[ids.length];
                    String name = e.getKey();
                    if (name.contains("mask")) {
                        java.util.Arrays.fill(data, 1);
                    } else if (name.contains("ids") && !name.contains("type")) {
                        data = ids.clone();
                    }
                    inputs.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape));
                }
                try (OrtSession.Result r = s.run(inputs)) {
                    Map<String, ByteBuffer> out = new LinkedHashMap<>();
                    for (Map.Entry<String, OnnxValue> e : r) {
                        OnnxTensor t = (OnnxTensor) e.getValue();
                        ByteBuffer b = t.getByteBuffer();
                        ByteBuffer copy = ByteBuffer.allocate(b.remaining());
                        copy.put(b).flip();
                        out.put(e.getKey() + ((TensorInfo) t.getInfo()).type, copy);
                    }
                    return out;
                } finally {
                    inputs.values().forEach(OnnxTensor::close);
                }
            }
        }
    }
}
