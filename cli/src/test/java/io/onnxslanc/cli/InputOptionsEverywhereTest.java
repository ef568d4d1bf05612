package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One meaning of --inputs (a folder of real tensors, or 'generated') and the shape options in every command that
 * feeds a model (issue 16): the main command's --verify and compare's parity mode read ONNX's own conformance data as
 * check does, and a reference that fails on the chosen shapes is the same one-line error everywhere.
 */
class InputOptionsEverywhereTest {
    @TempDir
    Path dir;

    private Path conformanceModel() throws Exception {
        Path ref = dir.resolve("ln.onnx");
        Files.copy(OnnxTestDataDir.nodeTest("test_layer_normalization_4d_axis_negative_1").resolve("model.onnx"), ref);
        return ref;
    }

    private static Path conformanceData() {
        return OnnxTestDataDir.nodeTest("test_layer_normalization_4d_axis_negative_1");
    }

    private static void assertOneLineError(CliRunner r, String... fragments) {
        assertEquals(1, r.exitCode(), r.out() + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        for (String f : fragments) {
            assertTrue(err.contains(f), "'" + err + "' should contain '" + f + "'");
        }
    }

    @Test
    void verifyRunsOnRealInputsAndWritesOutOnlyWhenItPasses() throws Exception {
        Path ref = conformanceModel();
        Path out = dir.resolve("ln-fp16.onnx");
        CliRunner r = CliRunner.run("--verify", "--inputs", conformanceData().toString(), "--keep-io-types", "-q",
                ref.toString(), out.toString());
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("1 sample(s)"), r.out()); // the one sample of test_data_set_0, not 8 generated ones
        assertTrue(r.out().contains("[2,3,4,5]"), r.out());
        assertTrue(Files.exists(out));
    }

    @Test
    void verifyBlamesAReferenceThatFailsOnTheChosenShapesAndWritesNothing() throws Exception {
        Path ref = InputShapeModels.batchMustBeOne(dir);
        Path out = dir.resolve("out.onnx");
        CliRunner r = CliRunner.run("--verify", "--dim", "N=2", "--samples", "1", "--keep-io-types", "-q", ref.toString(), out.toString());
        assertOneLineError(r, ref.toString(), "the reference model itself fails on the generated inputs", "x [2,200,320] float",
                "--input-shape NAME=d1,d2,...");
        assertFalse(Files.exists(out));
        CliRunner shaped = CliRunner.run("--verify", "--input-shape", "x=1,200,320", "--samples", "1", "--keep-io-types", "-q",
                ref.toString(), out.toString());
        assertEquals(0, shaped.exitCode(), shaped.out() + shaped.err());
    }

    /** compare's parity on the same real inputs gives the cosine check reports for the one sample. */
    @Test
    void compareParityOnRealInputsAgreesWithCheck() throws Exception {
        Path ref = conformanceModel();
        Path cand = dir.resolve("ln-fp16.onnx");
        assertEquals(0, CliRunner.run("--keep-io-types", "--no-slanc", "-q", ref.toString(), cand.toString()).exitCode());
        Path checkJson = dir.resolve("check.json");
        CliRunner check = CliRunner.run("check", "--inputs", conformanceData().toString(), "--json", checkJson.toString(),
                ref.toString(), cand.toString());
        assertEquals(0, check.exitCode(), check.out() + check.err());
        double smallest = 1;
        for (JsonNode o : new ObjectMapper().readTree(checkJson.toFile()).get("parity").get("outputs")) {
            smallest = Math.min(smallest, o.get("cosine").asDouble());
        }
        Path json = dir.resolve("compare.json");
        CliRunner compare = CliRunner.run("compare", "--inputs", conformanceData().toString(), "--json", json.toString(),
                ref.toString(), cand.toString());
        assertEquals(0, compare.exitCode(), compare.out() + compare.err());
        JsonNode result = new ObjectMapper().readTree(json.toFile());
        assertEquals("parity", result.get("kind").asText());
        JsonNode fp16 = result.get("rows").get(1);
        assertEquals(smallest, fp16.get("value").asDouble(), 1e-6, fp16.toString());
        assertTrue(fp16.get("value").asDouble() < 1 && fp16.get("value").asDouble() > 0.999, fp16.toString()); // FP16 rounding shows
    }

    @Test
    void inputsGeneratedIsTheDefaultAndExcludesText() throws Exception {
        Path ref = InputShapeModels.batchMustBeOne(dir);
        Path cand = dir.resolve("fp16.onnx");
        assertEquals(0, CliRunner.run("--keep-io-types", "--no-slanc", "-q", ref.toString(), cand.toString()).exitCode());
        CliRunner plain = CliRunner.run("check", "--samples", "2", ref.toString(), cand.toString());
        CliRunner generated = CliRunner.run("check", "--inputs", "generated", "--samples", "2", ref.toString(), cand.toString());
        assertEquals(0, generated.exitCode(), generated.err());
        assertEquals(plain.out(), generated.out());
        Path text = Files.writeString(dir.resolve("t.txt"), "one line\n");
        assertOneLineError(CliRunner.run("compare", "--inputs", "generated", "--text", text.toString(), "--tokenizer", text.toString(),
                ref.toString(), cand.toString()), "give either --text or --inputs generated, not both");
    }

    @Test
    void compareWorkloadSpellingsAreUsageErrors() throws Exception {
        Path ref = InputShapeModels.batchMustBeOne(dir);
        CliRunner bogus = CliRunner.run("compare", "--workload", "speed", ref.toString());
        assertEquals(2, bogus.exitCode(), bogus.err());
        assertTrue(bogus.err().contains("--workload must be 'perplexity' or 'parity'"), bogus.err());
        CliRunner noText = CliRunner.run("compare", "--workload", "perplexity", ref.toString());
        assertEquals(2, noText.exitCode(), noText.err());
        assertTrue(noText.err().contains("--workload perplexity needs --text and --tokenizer"), noText.err());
        CliRunner withDir = CliRunner.run("compare", "--workload", "perplexity", "--inputs", dir.toString(), ref.toString());
        assertEquals(2, withDir.exitCode(), withDir.err());
    }
}
