package io.onnxslanc.samples.integration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import java.nio.file.Path;
import java.util.Map;

/** Runs model files in ONNX Runtime (CPU) and compares outputs, for the integration tests. */
final class OrtModels {
    private OrtModels() {
    }

    /** Every output of one run of {@code model} at optimisation level BASIC (the same fusions for FP32 and FP16). */
    static Map<String, TensorData> run(Path model, Map<String, TensorData> inputs) {
        return run(model, inputs, OptLevel.BASIC_OPT);
    }

    static Map<String, TensorData> run(Path model, Map<String, TensorData> inputs, OptLevel level) {
        try (OpenedSession s = SessionFactory.cpu().withOptLevel(level).open(ModelSource.file(model))) {
            return Runs.run(s.session(), model.toString(), inputs);
        }
    }

    /** One causal-LM input: input_ids [1, n]. */
    static Map<String, TensorData> inputIds(int[] tokens) {
        long[] ids = new long[tokens.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokens[i];
        }
        return Map.of("input_ids", TensorData.ofLongs(new long[] {1, ids.length}, ids));
    }

    /** max |candidate - reference| / max |reference|, after checking that shapes agree and every value is finite. */
    static double relativeError(TensorData reference, TensorData candidate) {
        assertArrayEquals(reference.shape(), candidate.shape());
        float[] r = reference.floats();
        float[] c = candidate.floats();
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < r.length; i++) {
            assertTrue(Float.isFinite(c[i]), "non-finite value " + c[i] + " at " + i);
            maxDiff = Math.max(maxDiff, Math.abs((double) c[i] - r[i]));
            maxRef = Math.max(maxRef, Math.abs(r[i]));
        }
        return maxDiff / maxRef;
    }

    /** The largest {@link #relativeError} over all outputs (same names on both sides). */
    static double worstRelativeError(Map<String, TensorData> reference, Map<String, TensorData> candidate, String what) {
        assertEquals(reference.keySet(), candidate.keySet(), what + ": output names");
        double worst = 0;
        for (String name : reference.keySet()) {
            double err = relativeError(reference.get(name), candidate.get(name));
            System.out.printf("%s, output %s: max |cand - ref| / max |ref| = %.3e%n", what, name, err);
            worst = Math.max(worst, err);
        }
        return worst;
    }
}
