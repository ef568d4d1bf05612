package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.samples.SampleModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --fp32-fallback auto on MiniLM amplified by 1024, whose residual stream (|x| ~2.3e5) does not fit FP16: without it
 * --verify fails (exit 3, nothing written), with it the stream is rescaled statically and --verify passes; the
 * experiment's MiniLM table gets its (f) row. (The cosine itself is recomputed from ORT outputs in the samples
 * module's Fp32FallbackMiniLmTest.)
 */
class Fp32FallbackCommandTest {
    @TempDir
    static Path dir;
    static Path amplified;

    @BeforeAll
    static void amplify() {
        amplified = dir.resolve("minilm.x1024.onnx");
        CliRunner r = CliRunner.run("amplify", SampleModels.MINILM.model().toString(), amplified.toString(), "--factor", "1024");
        assertEquals(0, r.exitCode(), r.err());
    }

    @Test
    void withoutFallbackVerifyFails() {
        Path out = dir.resolve("plain.onnx");
        CliRunner r = CliRunner.run(amplified.toString(), out.toString(), "--verify", "-q", "--samples", "2", "--seq-len", "12");
        assertEquals(3, r.exitCode(), r.out() + r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void fallbackRescalesTheStreamAndVerifyPasses() throws IOException {
        Path out = dir.resolve("fallback.onnx");
        Path report = dir.resolve("fallback.json");
        CliRunner r = CliRunner.run(amplified.toString(), out.toString(), "--fp32-fallback", "auto", "--verify", "-q",
                "--samples", "2", "--seq-len", "12", "--report", report.toString());
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(Files.exists(out));
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        JsonNode fallback = json.get("fp32_fallback");
        assertTrue(fallback.get("rescale").asDouble() < 1, fallback.toString());
        assertTrue(fallback.get("maxAbsBefore").asDouble() > 65504, fallback.toString());
        assertTrue(fallback.get("maxAbsAfter").asDouble() < 65504 / 2.0, fallback.toString());
        assertTrue(json.get("verify").get("passed").asBoolean());
        assertTrue(r.out().contains("static rescale: residual stream x 2^-"), r.out());
    }

    @Test
    void experimentTableGetsTheFallbackRow() throws IOException {
        io.onnxslanc.testing.SharedData.stories260K(); // the experiment runs stories260K's rows too
        io.onnxslanc.testing.SharedData.tok512();
        io.onnxslanc.testing.SharedData.tinyStoriesVal();
        Path json = dir.resolve("e.json");
        CliRunner r = CliRunner.run("experiment", "--factors", "1", "--max-tokens", "16", "--minilm-factors", "1024",
                "--json", json.toString(), "--quiet");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("(f) SLaNC + FP32 fallback"), r.out());
        JsonNode rows = new ObjectMapper().readTree(json.toFile()).get("miniLm");
        JsonNode f = rows.get(rows.size() - 1);
        assertEquals("FALLBACK", f.get("variant").asText());
        assertTrue(f.get("minCosine").asDouble() >= 0.999, f.toString());
        assertTrue(r.out().contains("(f) MiniLM, c = 1024: --fp32-fallback auto"), r.out());
    }
}
