package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.samples.DataDir;
import io.onnxslanc.samples.experiment.ExperimentOptions;
import io.onnxslanc.samples.experiment.ExperimentResult;
import io.onnxslanc.samples.experiment.SlancExperiment;
import io.onnxslanc.samples.experiment.Variant;
import java.util.List;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * compare reproduces the experiment's c = 64 rows (a) FP32, (b) FP16 storage, (c) naive FP16 norms and (d) SLaNC + naive
 * FP16 norms on the first 512 positions, as SlancExperiment computes them, in one command; and a CUDA request is a row
 * that says why it did not run where CUDA is absent.
 */
class CompareCommandTest {
    @TempDir
    static Path dir;
    static Path amplified;
    static Path calibrated;

    @BeforeAll
    static void models() {
        Path original = dir.resolve("s.onnx");
        assertEquals(0, CliRunner.run("import-llama2c", io.onnxslanc.testing.SharedData.stories260K().toString(), original.toString()).exitCode());
        amplified = dir.resolve("s.x64.onnx");
        assertEquals(0, CliRunner.run("amplify", original.toString(), amplified.toString(), "--factor", "64").exitCode());
        calibrated = dir.resolve("s.x64.slanc.onnx");
        assertEquals(0, CliRunner.run(amplified.toString(), calibrated.toString(), "--no-fp16", "-q").exitCode());
    }

    @Test
    void experimentRowsInOneTableWithADegradedCudaRow() throws IOException {
        Path json = dir.resolve("c.json");
        Path html = dir.resolve("c.html");
        CliRunner r = CliRunner.run("compare", amplified.toString(), calibrated.toString(), "--ep", "cpu", "--ep", "cuda",
                "--emulate", "none,fp16-storage,fp16-naive-norms", "--text", io.onnxslanc.testing.SharedData.tinyStoriesVal().toString(),
                "--tokenizer", io.onnxslanc.testing.SharedData.tok512().toString(), "--max-tokens", "512", "--json", json.toString(),
                "--html", html.toString());
        assertEquals(0, r.exitCode(), r.out() + r.err());
        JsonNode rows = new ObjectMapper().readTree(json.toFile()).get("rows");
        assertEquals(12, rows.size()); // 2 models x 2 provider lists x 3 emulations, model-major
        // the experiment's own c = 64 rows, computed here by the samples library, are the expected values
        ExperimentResult e = SlancExperiment.run(ExperimentOptions.defaults().withFactors(List.of(64.0)).withMaxPositions(512)
                .withMiniLmFactors(List.of()), line -> { });
        assertRow(rows.get(0), amplified, "none", e.story(64, Variant.FP32), "reference");
        assertRow(rows.get(1), amplified, "fp16-storage", e.story(64, Variant.FP16_STORAGE), "ok");
        assertRow(rows.get(2), amplified, "fp16-naive-norms", e.story(64, Variant.NAIVE_NORMS), "ok");
        assertRow(rows.get(8), calibrated, "fp16-naive-norms", e.story(64, Variant.SLANC), "ok");
        assertEquals(3.7107, rows.get(0).get("value").asDouble(), 5e-5); // the FP32 reference figure of the README
        assertTrue(rows.get(2).get("value").asDouble() > 100, "naive FP16 norms break the amplified model");
        assertTrue(Math.abs(rows.get(8).get("deltaPct").asDouble()) < 0.05, rows.get(8).toString()); // SLaNC: within 0.05%
        assertEquals(511, rows.get(8).get("tokens").asLong());
        for (int i : new int[] {3, 4, 5, 9, 10, 11}) { // the CUDA rows
            JsonNode row = rows.get(i);
            assertEquals("cuda", row.get("providersAsked").asText());
            if (row.get("status").asText().startsWith("unavailable")) {
                assertTrue(row.get("status").asText().contains("CUDA execution provider could not be loaded"), row.toString());
                assertTrue(row.get("providerUsed").isNull());
            } else { // a machine with the GPU build of ONNX Runtime and a GPU
                assertEquals("CUDA", row.get("providerUsed").asText());
            }
        }
        assertTrue(r.out().contains("compare: perplexity, ONNX Runtime "), r.out());
        String page = Files.readString(html);
        assertTrue(page.contains("<svg") && page.contains("not run") && page.contains("<table>"), "chart with the CUDA rows marked");
    }

    private static void assertRow(JsonNode row, Path model, String emulation, ExperimentResult.LmRow expected, String status) {
        assertEquals(model.toString(), row.get("model").asText());
        assertEquals("CPU", row.get("providerUsed").asText());
        assertEquals(emulation, row.get("emulation").asText());
        assertEquals(expected.perplexity(), row.get("value").asDouble(), 1e-9 * expected.perplexity(), row.toString());
        assertEquals(expected.tokensScored(), row.get("tokens").asLong());
        assertEquals(status, row.get("status").asText());
    }

    @Test
    void parityOnGeneratedInputsWithCudaFallingBackToTheCpu() throws IOException {
        Path json = dir.resolve("p.json");
        CliRunner r = CliRunner.run("compare", amplified.toString(), calibrated.toString(), "--ep", "cuda,cpu",
                "--inputs", "generated", "--samples", "2", "--seq-len", "16", "--json", json.toString());
        assertEquals(0, r.exitCode(), r.out() + r.err());
        JsonNode rows = new ObjectMapper().readTree(json.toFile()).get("rows");
        assertEquals(2, rows.size());
        assertEquals("parity", new ObjectMapper().readTree(json.toFile()).get("kind").asText());
        // SLaNC in FP32 changes the function only by float rounding
        assertTrue(rows.get(1).get("value").asDouble() > 0.99999, rows.toString());
        if (!rows.get(0).get("warnings").isEmpty()) {
            assertEquals("CPU", rows.get(0).get("providerUsed").asText());
            assertTrue(rows.get(0).get("warnings").get(0).asText().contains("fell back to the CPU provider"));
        }
    }
}
