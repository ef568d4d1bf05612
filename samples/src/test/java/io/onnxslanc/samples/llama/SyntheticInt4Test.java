package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.io.ModelReader;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The synthetic int4 preset: written while the weights stream out of the generator, it loads and runs in ONNX Runtime
 * (its MatMulNBits kernel), every norm but the first is calibrated from dequantized weights, and the scales are those
 * of the float32 preset within the 4-bit quantization error (asserted 5%).
 */
class SyntheticInt4Test {
    @TempDir
    Path dir;

    @Test
    void tinyInt4RunsAndCalibratesLikeTheFloatPreset() throws Exception {
        Path int4 = dir.resolve("tiny-int4.onnx");
        SyntheticLlama.write(int4, SynthConfig.preset("tiny-int4"), true);
        Path fp32 = dir.resolve("tiny.onnx");
        SyntheticLlama.write(fp32, SynthConfig.preset("tiny"), false);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(int4.toString(), new OrtSession.SessionOptions());
             OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {1, 5, 9, 200}), new long[] {1, 4});
             OrtSession.Result r = s.run(Map.of("input_ids", ids))) {
            float[][][] logits = (float[][][]) r.get(0).getValue();
            for (float v : logits[0][3]) {
                assertTrue(Float.isFinite(v));
            }
        }
        assertEquals(15, ModelReader.read(int4).graph().opTypeCounts().get("com.microsoft:MatMulNBits"),
                "7 projections x 2 layers + the classifier: " + ModelReader.read(int4).graph().opTypeCounts());

        CalibrationReport q = Slanc.calibrate(ModelReader.read(int4), SlancOptions.defaults());
        CalibrationReport f = Slanc.calibrate(ModelReader.read(fp32), SlancOptions.defaults());
        for (int i = 1; i < q.norms().size(); i++) {
            Double a = q.norms().get(i).scaleUnrounded();
            assertNotNull(a, q.norms().get(i).reason());
            assertTrue(q.norms().get(i).dequantized().values().stream().allMatch(h -> h.startsWith("MatMulNBits 4-bit, block_size 32")));
            double b = f.norms().get(i).scaleUnrounded();
            assertEquals(b, a, 0.05 * b, q.norms().get(i).name());
        }
    }
}
