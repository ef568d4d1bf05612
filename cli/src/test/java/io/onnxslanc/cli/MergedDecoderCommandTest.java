package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.testing.SharedData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merged decoders (Optimum's layout: the decoder twice, as the branches of an If on use_cache_branch) in the runtime
 * commands without options (issue 18.2): stories260K imported with --merged and the torch-exported
 * hf_llama_merged.onnx fixture. check covers both branches and the present outputs, the FP16 emulations round inside
 * the branches, probe reads the norms inside the branches, and perplexity of the merged and with-past variants equals
 * the plain model's.
 */
class MergedDecoderCommandTest {
    @TempDir
    static Path dir;
    static Path plain;
    static Path merged;
    static Path withPast;

    /** Imports the stories260K variants once; without the sample data the stories tests skip (SharedData), the torch one runs. */
    private static synchronized void importStories() {
        if (withPast != null) {
            return;
        }
        Path p = dir.resolve("stories.onnx"), m = dir.resolve("stories-merged.onnx"), w = dir.resolve("stories-past.onnx");
        String ckpt = SharedData.stories260K().toString();
        CliRunner r = CliRunner.run("import-llama2c", ckpt, p.toString());
        assertEquals(0, r.exitCode(), r.err());
        r = CliRunner.run("import-llama2c", "--merged", ckpt, m.toString());
        assertEquals(0, r.exitCode(), r.err());
        r = CliRunner.run("import-llama2c", "--past", ckpt, w.toString());
        assertEquals(0, r.exitCode(), r.err());
        plain = p;
        merged = m;
        withPast = w;
    }

    /** The perplexity at full precision, from the JSON report (the printed line has four decimals). */
    private static double ppl(Path model, String... extra) throws java.io.IOException {
        Path json = java.nio.file.Files.createTempFile(dir, "ppl", ".json");
        String[] args = {"perplexity", "--json", json.toString(), "--text", SharedData.tinyStoriesVal().toString(), "--tokenizer", SharedData.tok512().toString(),
                "--window", "64", "--max-tokens", "192", model.toString()};
        String[] all = java.util.Arrays.copyOf(args, args.length + extra.length);
        System.arraycopy(extra, 0, all, args.length, extra.length);
        CliRunner r = CliRunner.run(all);
        assertEquals(0, r.exitCode(), r.err());
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile()).path("result").path("perplexity").asDouble(Double.NaN);
    }

    @Test
    void perplexityOfTheMergedDecoderEqualsThePlainModelsAlsoUnderFp16Emulation() throws Exception {
        importStories();
        double reference = ppl(plain);
        double whole = ppl(merged);
        double cached = ppl(merged, "--kv-cache");
        double pastWhole = ppl(withPast);
        double pastCached = ppl(withPast, "--kv-cache");
        System.out.printf("ppl plain %.9f, merged (no-cache branch) %.9f, merged token by token (cache branch) %.9f, "
                + "with-past (empty past) %.9f, with-past token by token %.9f%n", reference, whole, cached, pastWhole, pastCached);
        assertTrue(Math.abs(whole / reference - 1) < 1e-6, whole + " vs " + reference);
        assertTrue(Math.abs(pastWhole / reference - 1) < 1e-6, pastWhole + " vs " + reference);
        // through the cache the attention sums run in another order: equal up to float32 rounding (measured 9e-8)
        assertTrue(Math.abs(cached / reference - 1) < 1e-6, cached + " vs " + reference);
        assertTrue(Math.abs(pastCached / reference - 1) < 1e-6, pastCached + " vs " + reference);
        for (String mode : new String[] {"fp16-storage", "fp16-fp32-norms"}) {
            // the same rounding in the branches as in the plain graph; fp16-fp32-norms also keeps the gains the two
            // branches share in FP32, as it does for the plain model's unshared ones
            double plainEmulated = ppl(plain, "--emulate", mode);
            double mergedEmulated = ppl(merged, "--emulate", mode);
            System.out.printf("ppl under %s: plain %.6f, merged %.6f%n", mode, plainEmulated, mergedEmulated);
            assertTrue(Math.abs(mergedEmulated / plainEmulated - 1) < 1e-6, mode + ": " + mergedEmulated + " vs " + plainEmulated);
        }
    }

    @Test
    void checkProbeAndEmulationsRunOnTheStoriesMergedDecoderWithoutOptions() {
        importStories();
        Path fp16 = dir.resolve("stories-merged-fp16.onnx");
        CliRunner convert = CliRunner.run("-q", merged.toString(), fp16.toString());
        assertEquals(0, convert.exitCode(), convert.err());
        CliRunner check = CliRunner.run("check", merged.toString(), fp16.toString());
        assertEquals(0, check.exitCode(), check.err());
        assertTrue(check.out().contains("present.0.key") && check.out().contains("present.4.value"), check.out());
        Path fp32 = dir.resolve("stories-merged-nofp16.onnx");
        assertEquals(0, CliRunner.run("-q", "--no-fp16", merged.toString(), fp32.toString()).exitCode());
        for (String mode : new String[] {"fp16-storage", "fp16-naive-norms", "fp16-fp32-norms"}) {
            CliRunner emulated = CliRunner.run("check", "--samples", "2", "--emulate", mode, merged.toString(), fp32.toString());
            assertEquals(0, emulated.exitCode(), mode + ": " + emulated.err());
            assertTrue(emulated.out().contains("(emulation " + mode + ")"), emulated.out());
        }
        CliRunner probe = CliRunner.run("probe", "--samples", "2", merged.toString());
        assertEquals(0, probe.exitCode(), probe.err());
        // 11 norms per branch (5 layers x 2, final), each read inside its own branch
        assertNormsPerBranch(probe.out(), 11);
    }

    /** The torch export: check REF vs REF converted to FP16, each emulation inside the branches, and the probe. */
    @Test
    void checkEmulationsAndProbeRunOnTheTorchExportedMergedDecoder() {
        Path ref = KvCacheCommandTest.fixture("hf_llama_merged.onnx");
        Path fp16 = dir.resolve("hf-merged-fp16.onnx");
        assertEquals(0, CliRunner.run("-q", ref.toString(), fp16.toString()).exitCode());
        CliRunner check = CliRunner.run("check", ref.toString(), fp16.toString());
        assertEquals(0, check.exitCode(), check.err());
        assertTrue(check.out().contains("present.1.value"), check.out());
        Path fp32 = dir.resolve("hf-merged-nofp16.onnx");
        assertEquals(0, CliRunner.run("-q", "--no-fp16", ref.toString(), fp32.toString()).exitCode());
        for (String mode : new String[] {"fp16-storage", "fp16-naive-norms", "fp16-fp32-norms"}) {
            CliRunner emulated = CliRunner.run("check", "--samples", "2", "--emulate", mode, ref.toString(), fp32.toString());
            assertEquals(0, emulated.exitCode(), mode + ": " + emulated.err());
        }
        CliRunner probe = CliRunner.run("probe", "--samples", "2", ref.toString());
        assertEquals(0, probe.exitCode(), probe.err());
        assertNormsPerBranch(probe.out(), 5);
    }

    /** The probe table lists each norm once per branch, labelled with its branch, and each reads rows. */
    private static void assertNormsPerBranch(String table, int norms) {
        for (String branch : new String[] {"then_branch]", "else_branch]"}) {
            java.util.List<String> rows = table.lines().filter(l -> l.matches("\\s*\\d+ /.*") && l.contains(branch)).toList();
            assertEquals(norms, rows.size(), branch + ": " + table);
            for (String l : rows) {
                String[] columns = l.substring(l.indexOf(']') + 1).trim().split("\\s+"); // d, rows, ...
                assertTrue(Long.parseLong(columns[1]) > 0, "no rows read: " + l);
            }
        }
        assertEquals(2 * norms, table.lines().filter(l -> l.matches("\\s*\\d+ /.*")).count(), table);
    }
}
