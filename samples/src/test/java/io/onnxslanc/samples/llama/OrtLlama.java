package io.onnxslanc.samples.llama;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;

/** Runs a generated Llama model in ONNX Runtime (CPU). */
final class OrtLlama implements AutoCloseable {

    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    final OrtSession session;

    private OrtLlama(OrtSession session) {
        this.session = session;
    }

    static OrtLlama of(ModelProto model, OrtSession.SessionOptions.OptLevel level) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(level);
            return new OrtLlama(ENV.createSession(model.toByteArray(), so));
        }
    }

    static OrtLlama of(Path model) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            return new OrtLlama(ENV.createSession(model.toString(), so));
        }
    }

    /** Logits [seq][vocab] for one sequence (batch 1). */
    float[][] logits(int[] tokens) throws OrtException {
        long[] ids = new long[tokens.length];
        for (int i = 0; i < ids.length; i++) ids[i] = tokens[i];
        try (OnnxTensor t = OnnxTensor.createTensor(ENV, LongBuffer.wrap(ids), new long[] {1, ids.length});
             OrtSession.Result r = session.run(Map.of("input_ids", t))) {
            return ((float[][][]) r.get("logits").get().getValue())[0];
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }

    /** max |a - ref| / max |ref| over all entries. */
    static double relativeError(float[][] a, double[][] ref) {
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            for (int j = 0; j < ref[i].length; j++) {
                maxErr = Math.max(maxErr, Math.abs(a[i][j] - ref[i][j]));
                maxRef = Math.max(maxRef, Math.abs(ref[i][j]));
            }
        }
        return maxErr / maxRef;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
