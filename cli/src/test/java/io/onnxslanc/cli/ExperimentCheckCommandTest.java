package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.testing.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code experiment --check README.md} on the repository's README, at c = 64 (the rows that had drifted) with the
 * README block's own --max-tokens 512: every cell agrees (exit 0); a copy with one cell changed gives exactly that
 * cell's line and exit 3; a different --max-tokens is refused (like is compared with like only).
 */
class ExperimentCheckCommandTest {
    private static final Path README = Path.of("..", "README.md");

    @TempDir
    Path dir;

    private static CliRunner check(Path file, String maxTokens) {
        return CliRunner.run("experiment", "--check", file.toString(), "--factors", "64", "--minilm-factors", "none",
                "--max-tokens", maxTokens, "--checkpoint", SharedData.stories260K().toString(),
                "--tokenizer", SharedData.tok512().toString(), "--text", SharedData.tinyStoriesVal().toString(), "--quiet");
    }

    private static String lastLine(String out) {
        List<String> lines = out.lines().toList();
        return lines.get(lines.size() - 1);
    }

    @Test
    void theReadmeAgreesAndAChangedCellFailsWithExitThree() throws IOException {
        SharedData.stories260K(); // the rule's skip (or CI failure) when the data folder is absent
        CliRunner ok = check(README, "512");
        assertEquals(0, ok.exitCode(), ok.out() + ok.err());
        assertEquals("verdict PASS: ../README.md: 5 rows (30 cells) and 0 notes agree with the experiment's output; "
                + "42 rows at factors not run here are unchecked", lastLine(ok.out()));

        String readme = Files.readString(README);
        String row = "    64  (b) FP16 storage      167.7918";
        assertEquals(1, readme.split(java.util.regex.Pattern.quote(row), -1).length - 1, "the README's c = 64 (b) row");
        Path changed = dir.resolve("README.md");
        Files.writeString(changed, readme.replace(row, row.replace("167.7918", "167.8024")));
        CliRunner bad = check(changed, "512");
        assertEquals(3, bad.exitCode(), bad.out() + bad.err());
        List<String> lines = bad.out().lines().toList();
        assertEquals("stories260K c = 64 (b) FP16 storage, ppl: README 167.8024, experiment 167.7918",
                lines.get(lines.size() - 2));
        assertEquals("verdict FAIL: " + changed + ": 1 difference(s) from the experiment's output; 42 rows at factors "
                + "not run here are unchecked", lastLine(bad.out()));
    }

    @Test
    void aDifferentMaxTokensIsRefused() {
        SharedData.stories260K();
        CliRunner r = check(README, "64");
        assertEquals(1, r.exitCode(), r.out() + r.err());
        assertEquals("error: ../README.md: its experiment block was printed with --max-tokens 512, this run uses 64: "
                + "only like is compared with like", r.err().strip());
    }
}
