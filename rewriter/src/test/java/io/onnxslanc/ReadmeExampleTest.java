package io.onnxslanc;

import static io.onnxslanc.io.WriteOptions.ExternalData.EXTERNAL;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ReportJson;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import io.onnxslanc.testing.ModelResources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's library example, compiled and run on all-MiniLM-L6-v2. */
class ReadmeExampleTest {

    @Test
    void calibrateInAFewLines(@TempDir Path dir) {
        Path modelFile = ModelResources.file(ModelResources.MINILM);

        // ---- README example begins ----
        // One line, file to file:
        CalibrationReport report = Slanc.calibrateFile(modelFile, dir.resolve("minilm.slanc.onnx"), SlancOptions.defaults());
        System.out.print(report.toTable());
        ReportJson.write(report, dir.resolve("minilm.slanc.json"));

        // Inside an export pipeline that already holds the model:
        Model model = ModelReader.read(modelFile);
        CalibrationReport r = Slanc.calibrate(model, SlancOptions.defaults()
                .withPowerOfTwo(true)            // s rounded to a power of two: the multiply is exact (default)
                .withExactThreshold(1e8));       // products over 1e8 multiply-adds are estimated by random probing
        Fp16Converter.convert(model, Fp16Options.defaults());  // then FP16, streamed when written
        ModelWriter.write(model, dir.resolve("minilm.pipeline.onnx"));

        // File to file, SLaNC then FP16 (an input with external data has its FP16 data written while SLaNC computes):
        Path out = dir.resolve("minilm.fp16.onnx");
        SlancPipeline.Result result = SlancPipeline.run(ModelReader.read(modelFile), modelFile, out,
                SlancOptions.defaults(), Fp16Options.defaults(), WriteOptions.defaults().withExternalData(EXTERNAL));
        System.out.print(result.conversion().toText());
        // ---- README example ends ----

        Map<String, Integer> expected = Map.of("first", 1, "attention", 6, "mlp", 5, "final", 1);
        assertEquals(expected, report.blockCounts());
        assertEquals(expected, r.blockCounts());
        for (int i = 0; i < report.norms().size(); i++) {
            CalibrationReport.Norm exact = report.norms().get(i);
            CalibrationReport.Norm estimated = r.norms().get(i);
            assertEquals(exact.name(), estimated.name());
            // an estimate within a few percent rounds to the same power of two or a neighbour
            double ratio = estimated.scale() / exact.scale();
            assertTrue(ratio == 0.5 || ratio == 1 || ratio == 2, exact.name() + ": " + ratio);
            if (Boolean.TRUE.equals(estimated.estimated())) {
                double z = Math.abs(estimated.scaleUnrounded() / exact.scaleUnrounded() - 1) / estimated.relativeStdError();
                assertTrue(z <= 4, exact.name() + ": estimate " + z + " reported standard errors from the exact scale");
            }
        }
        assertTrue(r.norms().stream().anyMatch(n -> Boolean.TRUE.equals(n.estimated())), "the MLP products are above 1e8");
        assertTrue(Files.exists(dir.resolve("minilm.slanc.json")));
        assertFalse(result.dataSpooled(), "MiniLM keeps its weights inside the .onnx: nothing to stream ahead");
        assertEquals(report.blockCounts(), result.calibration().blockCounts());
        assertTrue(result.conversion().clampCountsComplete());
        assertTrue(Files.exists(dir.resolve("minilm.fp16.onnx.data")));
        assertTrue(Slanc.calibrate(ModelReader.read(dir.resolve("minilm.slanc.onnx")), SlancOptions.defaults()).alreadyCalibrated());
    }
}
