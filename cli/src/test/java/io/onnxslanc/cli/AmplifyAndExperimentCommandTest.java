package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.testing.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The amplify and experiment subcommands end to end on stories260K. */
class AmplifyAndExperimentCommandTest {
    @TempDir
    Path dir;

    private String ppl(Path model) {
        CliRunner r = CliRunner.run("perplexity", model.toString(), "--text", SharedData.tinyStoriesVal().toString(),
                "--tokenizer", SharedData.tok512().toString(), "--max-tokens", "128");
        assertEquals(0, r.exitCode(), r.err());
        return r.out().lines().filter(l -> l.startsWith("ppl ")).findFirst().orElseThrow();
    }

    @Test
    void amplifiedModelHasTheSamePerplexity() throws IOException {
        Path original = dir.resolve("s.onnx");
        assertEquals(0, CliRunner.run("import-llama2c", SharedData.stories260K().toString(), original.toString()).exitCode());
        Path amplified = dir.resolve("s.x1024.onnx");
        Path report = dir.resolve("amplify.json");
        CliRunner r = CliRunner.run("amplify", original.toString(), amplified.toString(), "--factor", "1024",
                "--report", report.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("residual stream amplified by 1024 (pre-norm, 11 norms)"), r.out());
        assertTrue(r.out().contains("writer weights x c: 10"), r.out());
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        assertEquals("PRE_NORM", json.get("amplification").get("layout").asText());
        assertEquals(ppl(original), ppl(amplified));
    }

    @Test
    void badFactorIsAUsageError() throws IOException {
        Path original = dir.resolve("s.onnx");
        assertEquals(0, CliRunner.run("import-llama2c", SharedData.stories260K().toString(), original.toString()).exitCode());
        CliRunner r = CliRunner.run("amplify", original.toString(), dir.resolve("o.onnx").toString(), "--factor", "0");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().startsWith("--factor must be finite and > 0, got 0.0"), r.err());
        assertTrue(!Files.exists(dir.resolve("o.onnx")));
    }

    @Test
    void modelWithoutNormsIsOneLineNamingTheFile() throws IOException {
        Path in = TinyModels.withoutNorms(dir);
        CliRunner r = CliRunner.run("amplify", in.toString(), dir.resolve("o.onnx").toString(), "--factor", "16");
        assertEquals(1, r.exitCode());
        String line = r.err().strip();
        assertEquals(1, line.lines().count(), line);
        assertTrue(line.startsWith("error: " + in + ": no LayerNorm / RMSNorm found"), line);
        assertTrue(!Files.exists(dir.resolve("o.onnx")));
    }

    @Test
    void experimentPrintsTheTableAndWritesJsonAndMarkdown() throws IOException {
        Path json = dir.resolve("e.json");
        Path md = dir.resolve("e.md");
        CliRunner r = CliRunner.run("experiment", "--factors", "1,64", "--max-tokens", "64", "--minilm-factors", "none",
                "--checkpoint", SharedData.stories260K().toString(), "--tokenizer", SharedData.tok512().toString(),
                "--text", SharedData.tinyStoriesVal().toString(),
                "--json", json.toString(), "--markdown", md.toString(), "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("(d) FP16 + SLaNC"), r.out());
        assertTrue(r.out().contains("Protocol"), r.out());
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertEquals(10, root.get("stories").size());
        assertTrue(Files.readString(md).contains("| 64 | (c) FP16 naive norms |"));
    }
}
