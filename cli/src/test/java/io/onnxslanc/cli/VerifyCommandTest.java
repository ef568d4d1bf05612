package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.samples.DataDir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gates as a build script sees them (the exit code Main.run returns is the process's): a deliberately broken FP16
 * model, naive FP16 norms on stories260K amplified by 64 (the FP32 perplexity is unchanged by the amplification,
 * naive FP16 norms overflow in 9 of 11 norms there), fails with exit 3; the SLaNC-calibrated one passes.
 */
class VerifyCommandTest {
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
        CliRunner r = CliRunner.run(amplified.toString(), calibrated.toString(), "--no-fp16", "-q");
        assertEquals(0, r.exitCode(), r.err());
    }

    private static List<String> text(String... more) {
        List<String> a = new ArrayList<>(List.of("--text", io.onnxslanc.testing.SharedData.tinyStoriesVal().toString(), "--tokenizer",
                io.onnxslanc.testing.SharedData.tok512().toString(), "--samples", "3", "--seq-len", "48"));
        a.addAll(List.of(more));
        return a;
    }

    private static CliRunner run(List<String> head, List<String> tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(tail);
        return CliRunner.run(all.toArray(String[]::new));
    }

    private static String lastLine(String s) {
        List<String> lines = s.lines().toList();
        return lines.get(lines.size() - 1);
    }

    @Test
    void checkFailsNaiveFp16NormsWithExit3AndNamesTheOutput() throws IOException {
        Path json = dir.resolve("fail.json");
        CliRunner r = run(List.of("check", amplified.toString(), amplified.toString(), "--emulate", "fp16-naive-norms",
                "--json", json.toString()), text());
        assertEquals(3, r.exitCode(), r.out() + r.err());
        String verdict = lastLine(r.out());
        assertTrue(verdict.startsWith("verdict FAIL: output 'logits': "), verdict);
        assertTrue(verdict.contains("(emulation fp16-naive-norms)"), verdict);
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertFalse(root.get("verdict").get("passed").asBoolean());
        assertEquals("logits", root.get("verdict").get("worstOutput").asText());
        assertTrue(root.get("verdict").get("perplexity").get("increasePct").asDouble() > 1.0);
    }

    @Test
    void checkPassesTheSlancModelUnderTheSameEmulation() {
        CliRunner r = run(List.of("check", amplified.toString(), calibrated.toString(), "--emulate", "fp16-naive-norms"), text());
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(lastLine(r.out()).startsWith("verdict PASS: worst output 'logits': cosine "), r.out());
    }

    @Test
    void aThresholdTheSlancModelMissesFailsIt() {
        // no model meets a KL of exactly zero under FP16 rounding: proves the gate is applied, not only printed
        CliRunner r = run(List.of("check", amplified.toString(), calibrated.toString(), "--emulate", "fp16-naive-norms",
                "--max-kl", "0"), text());
        assertEquals(3, r.exitCode(), r.out());
        assertTrue(lastLine(r.out()).contains("mean KL "), r.out());
    }

    @Test
    void verifyWritesNothingForABrokenModelUnlessKeepFailed() throws IOException {
        Path out = dir.resolve("broken.onnx");
        Path report = dir.resolve("broken.json");
        CliRunner r = run(List.of(amplified.toString(), out.toString(), "--no-slanc", "--verify", "-q", "--report",
                report.toString()), text());
        assertEquals(3, r.exitCode(), r.out() + r.err());
        assertFalse(Files.exists(out), "a failed model must not be written");
        assertTrue(r.out().contains("verdict FAIL: output 'logits'"), r.out());
        assertFalse(new ObjectMapper().readTree(report.toFile()).get("verify").get("passed").asBoolean());
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".verify-")), "staging folder left behind");
        }

        CliRunner kept = run(List.of(amplified.toString(), out.toString(), "--no-slanc", "--verify", "--keep-failed", "-q"), text());
        assertEquals(3, kept.exitCode(), kept.out());
        assertTrue(Files.exists(out));
    }

    @Test
    void verifyPassesAndWritesTheSlancModel() throws IOException {
        Path out = dir.resolve("good.onnx");
        Path report = dir.resolve("good.json");
        CliRunner r = run(List.of(amplified.toString(), out.toString(), "--verify", "-q", "--report", report.toString()), text());
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(Files.exists(out));
        JsonNode verify = new ObjectMapper().readTree(report.toFile()).get("verify");
        assertTrue(verify.get("passed").asBoolean());
        assertEquals(2, verify.get("verdicts").size()); // the FP16 file as written, and its FP32 graph emulated
        assertEquals("fp16-naive-norms", verify.get("verdicts").get(1).get("emulation").asText());
    }

    @Test
    void badModesAreUsageErrorsAndWriteNothing() {
        Path out = dir.resolve("never.onnx");
        CliRunner r = CliRunner.run(amplified.toString(), out.toString(), "--verify", "--verify-emulate", "fp8", "-q");
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("--verify-emulate: unknown emulation mode 'fp8'"), r.err());
        CliRunner f = CliRunner.run(amplified.toString(), out.toString(), "--fp32-fallback", "maybe", "-q");
        assertEquals(2, f.exitCode(), f.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void helpListsTheExitCodes() {
        assertTrue(CliRunner.run("--help").out().contains("3   a verdict failed: check's gates, --verify"));
        assertTrue(CliRunner.run("check", "--help").out().contains("3   a threshold was missed"));
    }
}
