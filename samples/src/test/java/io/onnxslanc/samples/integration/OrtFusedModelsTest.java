package io.onnxslanc.samples.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.samples.DataDir;
import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.llama.ImportOptions;
import io.onnxslanc.samples.llama.Llama2cImporter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Fused-op models made by a real tool: ONNX Runtime's own graph optimizer (EXTENDED level, saved offline with
 * SessionOptions.setOptimizedModelFilePath) rewrites stories260K and MiniLM with SimplifiedLayerNormalization /
 * SkipSimplifiedLayerNormalization / SkipLayerNormalization and fused attention. SLaNC on the fused model scales as
 * many norms, with the same scales, as on the original; the FP32 outputs stay the same; the FP16 model runs.
 */
class OrtFusedModelsTest {
    private static final Path DIR = Path.of("target", "integration", "ort-fused");

    /** The graph ONNX Runtime saves after its EXTENDED optimisations (CPU). */
    static Path ortOptimized(Path model, Path out) throws Exception {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
            so.setOptimizedModelFilePath(out.toString());
            try (OrtSession ignored = OrtEnvironment.getEnvironment().createSession(model.toString(), so)) {
                // creating the session writes the optimised graph
            }
        }
        return out;
    }

    private static List<Double> scales(CalibrationReport r) {
        List<Double> out = new ArrayList<>();
        r.norms().forEach(n -> out.add(n.scaleUnrounded()));
        return out;
    }

    private static void check(String tag, Path original, Map<String, TensorData> inputs, int minFused) throws Exception {
        Path fused = ortOptimized(original, DIR.resolve(tag + ".ort-extended.onnx"));
        Model f = ModelReader.read(fused);
        System.out.println(tag + " after ORT EXTENDED: " + f.graph().opTypeCounts());
        long fusedOps = f.graph().nodes().stream().filter(n -> n.opType().contains("LayerNormalization")
                || n.opType().contains("Attention")).count();
        assertTrue(fusedOps >= minFused, tag + ": fused norm / attention ops " + fusedOps);

        CalibrationReport plain = Slanc.calibrate(ModelReader.read(original), SlancOptions.defaults());
        CalibrationReport rf = Slanc.calibrate(f, SlancOptions.defaults());
        rf.norms().forEach(n -> System.out.printf("  %s %s %s s=%s %s%n", n.name(), n.kind(), n.block(), n.scaleUnrounded(),
                n.reason() == null ? "" : n.reason()));
        List<Double> a = scales(plain);
        List<Double> b = scales(rf);
        assertEquals(a.size(), b.size(), tag + ": norms found");
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) == null) {
                assertEquals(null, b.get(i), tag + " norm " + i);
                continue;
            }
            assertNotNull(b.get(i), tag + " norm " + i + " (" + rf.norms().get(i).name() + ") unscaled: " + rf.norms().get(i).reason());
            assertEquals(a.get(i), b.get(i), 1e-9 * a.get(i), tag + " norm " + i);
        }
        Path calibrated = DIR.resolve(tag + ".ort-extended.slanc.onnx");
        ModelWriter.write(f, calibrated);
        double err = OrtModels.worstRelativeError(OrtModels.run(fused, inputs), OrtModels.run(calibrated, inputs), tag + " fused SLaNC");
        assertTrue(err < 1e-5, tag + ": SLaNC changed the fused model's FP32 outputs by " + err);

        Model half = ModelReader.read(calibrated);
        Fp16Converter.convert(half, Fp16Options.defaults());
        Path fp16 = DIR.resolve(tag + ".ort-extended.slanc.fp16.onnx");
        ModelWriter.write(half, fp16);
        double err16 = OrtModels.worstRelativeError(OrtModels.run(fused, inputs), OrtModels.run(fp16, inputs), tag + " fused SLaNC FP16");
        assertTrue(err16 < 0.05, tag + ": FP16 error " + err16);
    }

    @Test
    void stories260kFusedByOrt() throws Exception {
        Files.createDirectories(DIR);
        Path imported = DIR.resolve("stories260K.onnx");
        Llama2cImporter.write(Llama2cImporter.importCheckpoint(io.onnxslanc.testing.SharedData.stories260K(), ImportOptions.defaults()), imported);
        // ORT fuses RMSNorm written x / sqrt(.) (Hugging Face exports via torch.onnx), not x * Reciprocal(sqrt(.))
        Model m = ModelReader.read(imported);
        reciprocalToDiv(m);
        Path original = DIR.resolve("stories260K.div.onnx");
        ModelWriter.write(m, original);
        check("stories260K", original, OrtModels.inputIds(IntegrationData.storyTokens(48)), 11);
    }

    /** x * Reciprocal(Sqrt(v)) -> Div(x, Sqrt(v)). */
    private static void reciprocalToDiv(Model m) {
        io.onnxslanc.ir.Graph g = m.graph();
        for (io.onnxslanc.ir.Node r : new ArrayList<>(g.nodes())) {
            if (!r.is("Reciprocal")) {
                continue;
            }
            io.onnxslanc.ir.Node mul = r.output(0).consumers().get(0);
            io.onnxslanc.ir.Value x = mul.input(0) == r.output(0) ? mul.input(1) : mul.input(0);
            io.onnxslanc.ir.Node div = g.addNodeBefore(mul, "Div", List.of(x, r.input(0)), mul.output(0).name() + "_div");
            mul.output(0).replaceAllUsesWith(div.output(0));
        }
        g.cleanup();
        g.toposort();
    }

    @Test
    void miniLmFusedByOrt() throws Exception {
        Files.createDirectories(DIR);
        Map<String, TensorData> in = EncoderInputs.of(SampleModels.MINILM.tokenizerJson(), IntegrationData.SENTENCES).feeds();
        check("minilm", SampleModels.MINILM.model(), in, 13);
    }
}
