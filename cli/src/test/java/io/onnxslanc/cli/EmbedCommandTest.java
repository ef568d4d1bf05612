package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The encoder demo on real sentences: FP32 and SLaNC + FP16 embeddings agree, and the similarities make sense. */
class EmbedCommandTest {
    @TempDir
    Path dir;

    @Test
    void miniLmEmbeddingsSurviveSlancAndFp16() {
        CliRunner r = CliRunner.run("embed", "--model", "minilm", "--out", dir.toString(),
                "The cat sat on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply on Monday.");
        assertEquals(0, r.exitCode(), r.err());
        Matcher worst = Pattern.compile("worst sentence: ([0-9.]+)").matcher(r.out());
        assertTrue(worst.find(), r.out());
        assertTrue(Double.parseDouble(worst.group(1)) >= 0.999, r.out());
        // row 0: the paraphrase is far more similar than the unrelated sentence, in FP32 and in FP16
        Matcher row = Pattern.compile("  0 The cat sat on the mat\\.\\s+([-0-9.]+) \\(\\s*([-0-9.]+)\\)\\s+([-0-9.]+) \\(\\s*([-0-9.]+)\\)"
                + "\\s+([-0-9.]+) \\(\\s*([-0-9.]+)\\)").matcher(r.out());
        assertTrue(row.find(), r.out());
        assertTrue(Double.parseDouble(row.group(3)) > Double.parseDouble(row.group(5)) + 0.3, r.out());
        assertTrue(Double.parseDouble(row.group(4)) > Double.parseDouble(row.group(6)) + 0.3, r.out());
    }
}
