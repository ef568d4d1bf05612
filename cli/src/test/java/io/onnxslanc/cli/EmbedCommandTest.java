package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.samples.SampleModels;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The encoder demo on real sentences: FP32 and SLaNC + FP16 embeddings agree, and the similarities make sense. */
class EmbedCommandTest {
    private static final List<String> SENTENCES = List.of(
            "The cat sat on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply on Monday.");

    @TempDir
    Path dir;

    @Test
    void miniLmEmbeddingsSurviveSlancAndFp16() throws Exception {
        String[] args = new String[5 + SENTENCES.size()];
        System.arraycopy(new String[] {"embed", "--model", "minilm", "--out", dir.toString()}, 0, args, 0, 5);
        for (int i = 0; i < SENTENCES.size(); i++) args[5 + i] = SENTENCES.get(i);
        CliRunner r = CliRunner.run(args);
        assertEquals(0, r.exitCode(), r.err());
        Matcher worst = Pattern.compile("worst sentence: ([0-9.]+)").matcher(r.out());
        assertTrue(worst.find(), r.out());
        // the cosine computed here from ONNX Runtime's outputs of the two models, not the command's own number
        double computed = OrtEmbeddings.worstCosine(SampleModels.MINILM.model(), dir.resolve("all-minilm-l6-v2.slanc-fp16.onnx"),
                SampleModels.MINILM.tokenizerJson(), SENTENCES);
        System.out.printf("embed: FP32 vs SLaNC + FP16, worst cosine computed by the test %.8f, printed %s%n", computed, worst.group(1));
        // measured 1 - cos = 5e-7 (README: 0.9999995); bound 10x that
        assertTrue(1 - computed <= 5e-6, "worst cosine " + computed);
        assertEquals(computed, Double.parseDouble(worst.group(1)), 1e-7, "the printed cosine is the computed one");
        // row 0: the paraphrase is far more similar than the unrelated sentence, in FP32 and in FP16
        Matcher row = Pattern.compile("  0 The cat sat on the mat\\.\\s+([-0-9.]+) \\(\\s*([-0-9.]+)\\)\\s+([-0-9.]+) \\(\\s*([-0-9.]+)\\)"
                + "\\s+([-0-9.]+) \\(\\s*([-0-9.]+)\\)").matcher(r.out());
        assertTrue(row.find(), r.out());
        assertTrue(Double.parseDouble(row.group(3)) > Double.parseDouble(row.group(5)) + 0.3, r.out());
        assertTrue(Double.parseDouble(row.group(4)) > Double.parseDouble(row.group(6)) + 0.3, r.out());
    }
}
