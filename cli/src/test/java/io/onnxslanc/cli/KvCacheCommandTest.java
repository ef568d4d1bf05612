package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.samples.DataDir;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * KV-cache decoders in the runtime commands without options (issue 18.2), on stories260K imported with past
 * key/value inputs and present outputs: check and probe feed a consistent past, parity covers the present outputs,
 * and perplexity equals the plain model's, fed whole windows with an empty past and fed token by token through the
 * cache (the plain model, without any cache, is the reference).
 */
class KvCacheCommandTest {
    @TempDir
    static Path dir;
    static Path plain;
    static Path withPast;

    @BeforeAll
    static void importModels() {
        plain = dir.resolve("stories.onnx");
        withPast = dir.resolve("stories-past.onnx");
        assertEquals(0, CliRunner.run("import-llama2c", io.onnxslanc.testing.SharedData.stories260K().toString(), plain.toString()).exitCode());
        CliRunner r = CliRunner.run("import-llama2c", "--past", io.onnxslanc.testing.SharedData.stories260K().toString(), withPast.toString());
        assertEquals(0, r.exitCode(), r.err());
    }

    private static double ppl(Path model, String... extra) {
        String[] args = {"perplexity", "--text", io.onnxslanc.testing.SharedData.tinyStoriesVal().toString(), "--tokenizer", io.onnxslanc.testing.SharedData.tok512().toString(),
                "--window", "64", "--max-tokens", "192", model.toString()};
        String[] all = java.util.Arrays.copyOf(args, args.length + extra.length);
        System.arraycopy(extra, 0, all, args.length, extra.length);
        CliRunner r = CliRunner.run(all);
        assertEquals(0, r.exitCode(), r.err());
        String line = r.out().lines().filter(l -> l.startsWith("ppl ")).findFirst().orElseThrow();
        return Double.parseDouble(line.split("\\s+")[1]);
    }

    @Test
    void perplexityOfTheWithPastModelEqualsThePlainModelsWholeAndTokenByToken() {
        double reference = ppl(plain);
        double window = ppl(withPast);
        double cached = ppl(withPast, "--kv-cache");
        System.out.printf("ppl plain %.6f, with-past (empty past) %.6f, token by token through the cache %.6f%n", reference, window, cached);
        assertTrue(Math.abs(window / reference - 1) < 1e-6, window + " vs " + reference);
        assertTrue(Math.abs(cached / reference - 1) < 1e-4, cached + " vs " + reference);
        CliRunner noCache = CliRunner.run("perplexity", plain.toString(), "--text", io.onnxslanc.testing.SharedData.tinyStoriesVal().toString(),
                "--tokenizer", io.onnxslanc.testing.SharedData.tok512().toString(), "--kv-cache");
        assertEquals(1, noCache.exitCode());
        assertTrue(noCache.err().startsWith("error: " + plain + ": has no past key/value inputs"), noCache.err());
    }

    @Test
    void checkAndProbeRunOnTheWithPastModelWithoutOptionsAndCompareThePresents() {
        Path fp16 = dir.resolve("stories-past-fp16.onnx");
        CliRunner convert = CliRunner.run("-q", withPast.toString(), fp16.toString());
        assertEquals(0, convert.exitCode(), convert.err());
        CliRunner check = CliRunner.run("check", "--samples", "2", withPast.toString(), fp16.toString());
        assertEquals(0, check.exitCode(), check.err());
        assertTrue(check.out().contains("present.0.key"), check.out());
        assertTrue(check.out().contains("present.4.value"), check.out());
        CliRunner past = CliRunner.run("check", "--past-len", "8", "--seq-len", "4", "--samples", "2", withPast.toString(), fp16.toString());
        assertEquals(0, past.exitCode(), past.err());
        assertTrue(past.out().lines().anyMatch(l -> l.startsWith("present.0.key") && l.contains(",12,")), "past 8 + 4 new: " + past.out());
        CliRunner probe = CliRunner.run("probe", "--samples", "1", "--past-len", "5", withPast.toString());
        assertEquals(0, probe.exitCode(), probe.err());
        CliRunner text = CliRunner.run("check", "--text", io.onnxslanc.testing.SharedData.tinyStoriesVal().toString(), "--tokenizer",
                io.onnxslanc.testing.SharedData.tok512().toString(), "--samples", "2", withPast.toString(), fp16.toString());
        assertEquals(0, text.exitCode(), text.err());
    }

    /** The torch.onnx-exported KV-cache Llama and its Optimum-style merged decoder (fixtures/exports), no options. */
    @Test
    void checkRunsOnTorchExportedWithPastAndMergedDecodersWithoutOptions() throws Exception {
        for (String name : new String[] {"hf_llama_kv_cache", "hf_llama_merged"}) {
            Path ref = fixture(name + ".onnx");
            Path fp16 = dir.resolve(name + "-fp16.onnx");
            CliRunner convert = CliRunner.run("-q", ref.toString(), fp16.toString());
            assertEquals(0, convert.exitCode(), convert.err());
            CliRunner check = CliRunner.run("check", "--samples", "2", "--seq-len", "16", ref.toString(), fp16.toString());
            assertEquals(0, check.exitCode(), name + ": " + check.err());
            assertTrue(check.out().contains((name.endsWith("merged") ? 4 : 2) + " sample(s)"), check.out());
            assertTrue(check.out().contains("present.1.value"), check.out());
        }
    }

    static Path fixture(String name) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("fixtures").resolve("exports").resolve(name);
            if (java.nio.file.Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new IllegalStateException("fixtures/exports/" + name + " not found above " + Path.of("").toAbsolutePath());
    }
}
