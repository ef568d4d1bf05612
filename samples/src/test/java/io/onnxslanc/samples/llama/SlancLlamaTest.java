package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SLaNC on the Llama graphs this project generates (pre-norm RMSNorm, GQA 4/2 with RoPE, SwiGLU), in all three
 * norm styles: every norm is classified, and in FP32 the calibrated model's logits equal the original's in ONNX
 * Runtime. In a pre-norm network the residual stream has consumers besides the norm, so this also checks that
 * only the edges into the norms were scaled.
 */
class SlancLlamaTest {
    private static final Path DIR = Path.of("target", "slanc-llama");
    private static final int[] TOKENS = {1, 17, 42, 99, 3, 250, 7, 64};

    @ParameterizedTest
    @EnumSource(NormStyle.class)
    void everyNormIsClassifiedAndLogitsAreUnchanged(NormStyle style) throws IOException, OrtException {
        Files.createDirectories(DIR);
        SynthConfig cfg = SynthConfig.preset("tiny-massive");
        cfg = cfg.withGraph(cfg.graph().withNormStyle(style));
        Path original = DIR.resolve("tiny-" + style + ".onnx");
        SyntheticLlama.write(original, cfg, false);
        Model model = ModelReader.read(original);
        CalibrationReport report = Slanc.calibrate(model, SlancOptions.defaults());
        System.out.print(style + "\n" + report.toTable());
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("first", 1);
        expected.put("attention", 2);
        expected.put("gated-mlp", 1);
        expected.put("final", 1);
        assertEquals(expected, report.blockCounts());
        for (CalibrationReport.Norm n : report.norms()) {
            assertNotNull(n.scale(), n.name() + ": " + n.reason());
            if (n.block().equals("attention")) {
                assertEquals(4, n.heads());
                assertEquals(2, n.kvHeads());
            }
        }
        Path calibrated = DIR.resolve("tiny-" + style + ".slanc.onnx");
        ModelWriter.write(model, calibrated);

        float[][] before = logits(original);
        float[][] after = logits(calibrated);
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < before.length; i++) {
            for (int j = 0; j < before[i].length; j++) {
                maxDiff = Math.max(maxDiff, Math.abs((double) after[i][j] - before[i][j]));
                maxRef = Math.max(maxRef, Math.abs(before[i][j]));
            }
        }
        System.out.printf("%s: max |after - before| / max |before| = %.3e%n", style, maxDiff / maxRef);
        assertTrue(maxDiff / maxRef <= 1e-5, style + ": relative error " + maxDiff / maxRef);
    }

    @ParameterizedTest
    @EnumSource(NormStyle.class)
    void kvCacheGraphsAreClassifiedToo(NormStyle style) throws IOException {
        Files.createDirectories(DIR);
        SynthConfig cfg = SynthConfig.preset("tiny");
        cfg = cfg.withGraph(cfg.graph().withNormStyle(style).withPastKeyValues(true));
        Path file = DIR.resolve("tiny-past-" + style + ".onnx");
        SyntheticLlama.write(file, cfg, false);
        CalibrationReport report = Slanc.calibrate(ModelReader.read(file), SlancOptions.defaults().withDryRun(true));
        assertEquals(5, report.norms().size());
        assertTrue(report.norms().stream().allMatch(n -> n.scale() != null), report.toTable());
        assertEquals(2, report.blockCounts().get("attention"));
    }

    private static float[][] logits(Path model) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            try (OrtSession s = OrtLlama.ENV.createSession(model.toString(), so)) {
                long[] ids = new long[TOKENS.length];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = TOKENS[i];
                }
                try (OnnxTensor t = OnnxTensor.createTensor(OrtLlama.ENV, LongBuffer.wrap(ids), new long[] {1, ids.length});
                     OrtSession.Result r = s.run(Map.of("input_ids", t))) {
                    return ((float[][][]) r.get("logits").get().getValue())[0];
                }
            }
        }
    }
}
