package io.onnxslanc.check.emulate;

import static io.onnxslanc.check.TestModels.F;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** fp16-fp32-norms: FP16 storage everywhere except inside the norms, which compute in FP32 between FP16 tensors. */
class Fp32NormsEmulationTest {
    private static final int D = 64;

    private static float[] runEmulated(ModelProto m, Emulation.Mode mode, float[] x) {
        try (Emulation.EmulatedSession s = Emulation.open(ModelSource.of("rms.onnx", m), mode, SessionFactory.cpu(), true)) {
            assertTrue(s.casts().complete(), s.casts().summary());
            return Runs.run(s.opened().session(), "emulated", Map.of("x", TensorData.ofFloats(new long[] {1, D}, x))).get("y").floats();
        }
    }

    @Test
    void squaresThatOverflowFp16StayFiniteInsideAnFp32Norm() {
        // |x| = 300: x^2 = 90000 is inf in FP16, so fp16-storage (which rounds the Pow output) collapses the norm;
        // with the norm in FP32 only its input (exact here) and its output are rounded
        float[] gamma = TestModels.filled(D, 1.5f);
        float[] x = new float[D];
        for (int j = 0; j < D; j++) x[j] = j % 2 == 0 ? 300f : -300f;
        ModelProto m = TestModels.decomposedRmsNorm(1, D, 1e-5f, gamma, F);
        float[] storage = runEmulated(m, Emulation.Mode.FP16_STORAGE, x);
        float[] fp32Norms = runEmulated(m, Emulation.Mode.FP16_FP32_NORMS, x);
        double rms = Math.sqrt(300.0 * 300.0 + 1e-5);
        for (int j = 0; j < D; j++) {
            assertTrue(!Float.isFinite(storage[j]) || storage[j] == 0f, "fp16-storage must collapse: " + storage[j]);
            double ref = x[j] / rms * 1.5;
            assertEquals(TestModels.fp16((float) ref), fp32Norms[j], 0f, "element " + j + ": the FP16 rounding of the exact norm");
        }
    }

    @Test
    void islandsAreTheNormIntermediatesAndConstantsButNotItsOutput() {
        ModelProto m = TestModels.decomposedRmsNorm(1, D, 1e-5f, TestModels.filled(D, 1f), F);
        Set<String> islands = NormIslands.of(m);
        assertEquals(Set.of("sq", "ms", "mse", "rms", "xn", "two", "eps", "gamma"), islands);
        ModelProto emulated = Emulation.apply(m, Emulation.Mode.FP16_FP32_NORMS);
        // one round trip for the graph input and one for the norm output, none inside
        long casts = emulated.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Cast")).count();
        assertEquals(4, casts);
        for (NodeProto n : emulated.getGraph().getNodeList()) {
            assertFalse(n.getOpType().equals("Cast") && islands.contains(n.getInput(0).replace("__emu_fp32", "")),
                    "round trip inside the norm: " + n);
        }
    }

    @Test
    void modeParsesFromItsLabel() {
        assertEquals(Emulation.Mode.FP16_FP32_NORMS, Emulation.Mode.parse("fp16-fp32-norms"));
    }
}
