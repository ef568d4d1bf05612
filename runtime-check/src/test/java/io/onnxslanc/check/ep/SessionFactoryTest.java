package io.onnxslanc.check.ep;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.model.ModelSource;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class SessionFactoryTest {

    private static final ModelSource ADD = ModelSource.of("add.onnx", TestModels.addSelf());

    /** Simulates the CPU jar: ORT's own message when the CUDA shared provider is missing. */
    private static final SessionFactory.CudaLoader MISSING_CUDA = (o, m) -> {
        throw new OrtException(OrtException.OrtErrorCode.ORT_EP_FAIL, "Failed to find CUDA shared provider");
    };

    @Test
    void parsesProviderLists() {
        assertEquals(List.of(ProviderChoice.Provider.CPU), ProviderChoice.parse("cpu").order());
        assertEquals(List.of(ProviderChoice.Provider.CUDA), ProviderChoice.parse("cuda").order());
        ProviderChoice both = ProviderChoice.parse(" CUDA , cpu ");
        assertEquals(List.of(ProviderChoice.Provider.CUDA, ProviderChoice.Provider.CPU), both.order());
        assertTrue(both.wantsCuda());
        assertTrue(both.allowsCpu());
        assertEquals("cuda,cpu", both.toString());
        assertFalse(ProviderChoice.parse("cuda").allowsCpu());
    }

    @Test
    void rejectsBadProviderLists() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProviderChoice.parse("tpu")).getMessage().contains("unknown execution provider 'tpu'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProviderChoice.parse("")).getMessage().contains("empty"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProviderChoice.parse("cuda,cuda")).getMessage().contains("twice"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProviderChoice.parse("cpu,cuda")).getMessage().contains("list cpu last"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProviderChoice.parse("cuda,")).getMessage().contains("unknown execution provider ''"));
        assertThrows(IllegalArgumentException.class, () -> SessionFactory.parseOptLevel("fast"));
        assertEquals(OptLevel.NO_OPT, SessionFactory.parseOptLevel("disable_all"));
        assertEquals(OptLevel.EXTENDED_OPT, SessionFactory.parseOptLevel("Extended"));
    }

    @Test
    void cudaAloneFailsWithAClearMessage() {
        SessionFactory f = new SessionFactory(ProviderChoice.parse("cuda"), OptLevel.BASIC_OPT, Map.of(), Map.of(), MISSING_CUDA);
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> f.open(ADD));
        String m = e.getMessage();
        for (String part : List.of("CUDA execution provider could not be loaded", "Failed to find CUDA shared provider",
                "onnxruntime_gpu", "-Pcuda", "CUDA 12", "cuDNN 9", "cuda,cpu"))
            assertTrue(m.contains(part), () -> "message lacks '" + part + "': " + m);
    }

    @Test
    void cudaWithCpuFallbackRunsOnCpuAndWarns() throws OrtException {
        Map<String, String> seen = new HashMap<>();
        SessionFactory.CudaLoader recordingThenFailing = (o, m) -> {
            seen.putAll(m);
            MISSING_CUDA.add(o, m);
        };
        SessionFactory f = new SessionFactory(ProviderChoice.parse("cuda,cpu"), OptLevel.NO_OPT,
                Map.of("enable_skip_layer_norm_strict_mode", "1"), Map.of(), recordingThenFailing);
        try (OpenedSession s = f.open(ADD)) {
            assertEquals(Map.of("enable_skip_layer_norm_strict_mode", "1"), seen, "CUDA options are passed through");
            RunInfo info = s.info();
            assertEquals("CPU", info.provider());
            assertEquals("cuda,cpu", info.requestedProviders());
            assertEquals("disable_all", info.optLevel());
            assertEquals(1, info.warnings().size());
            assertTrue(info.warnings().get(0).contains("Failed to find CUDA shared provider"));
            assertTrue(info.summary().contains("fell back to the CPU provider"));
            assertEquals(OrtEnvironment.getEnvironment().getVersion(), info.ortVersion());
            assertTrue(info.ortVersion().matches("\\d+\\.\\d+\\.\\d+.*"), info.ortVersion());
            // the session made from the options that failed addCUDA still computes
            float[][] x = {{1, 2, 3}, {-4, 5.5f, 6}};
            try (OnnxTensor t = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), x);
                 OrtSession.Result r = s.session().run(Map.of("x", t))) {
                float[][] y = (float[][]) r.get(0).getValue();
                assertArrayEquals(new float[]{-8, 11, 12}, y[1]);
            }
        }
    }

    @Test
    void realCpuJarCannotLoadCuda() {
        // With the GPU jar (mvn -Pcuda) CUDA is listed and may load; this test is about the CPU jar.
        assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA), "GPU build of ONNX Runtime on the classpath");
        SessionFactory alone = new SessionFactory(ProviderChoice.parse("cuda"), OptLevel.BASIC_OPT, Map.of(), Map.of());
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> alone.open(ADD));
        assertTrue(e.getMessage().contains("onnxruntime_gpu"), e.getMessage());
        System.out.println(e.getMessage());
        SessionFactory fallback = new SessionFactory(ProviderChoice.parse("cuda,cpu"), OptLevel.BASIC_OPT,
                Map.of("enable_skip_layer_norm_strict_mode", "1"), Map.of());
        try (OpenedSession s = fallback.open(ADD)) {
            assertEquals("CPU", s.info().provider());
            assertFalse(s.info().warnings().isEmpty());
            System.out.println(s.info().summary());
        }
    }

    @Test
    void cpuOnlyWarnsAboutIgnoredCudaOptionsAndNamesBadModels() {
        SessionFactory f = new SessionFactory(ProviderChoice.CPU, OptLevel.BASIC_OPT, Map.of("device_id", "0"), Map.of());
        try (OpenedSession s = f.open(ADD)) {
            assertEquals("CPU", s.info().provider());
            assertTrue(s.info().warnings().get(0).contains("ignored"));
        }
        var broken = ModelSource.of("broken.onnx", TestModels.addSelf().toBuilder().clearOpsetImport().build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SessionFactory.cpu().open(broken));
        assertTrue(e.getMessage().startsWith("broken.onnx: ONNX Runtime cannot load the model"), e.getMessage());
    }
}
