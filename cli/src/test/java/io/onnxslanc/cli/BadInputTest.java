package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each bad input: one line naming the file and the problem, exit code 1, no output file, input untouched. */
class BadInputTest {
    @TempDir
    Path dir;

    private void assertFailsCleanly(Path in, String... expectedFragments) throws IOException {
        byte[] before = Files.exists(in) ? Files.readAllBytes(in) : null;
        Path out = dir.resolve("out.onnx");
        CliRunner r = CliRunner.run(in.toString(), out.toString(), "--quiet");
        assertEquals(1, r.exitCode(), r.err());
        String line = r.err().strip();
        assertEquals(1, line.lines().count(), "one line: " + line);
        assertTrue(line.startsWith("error: "), line);
        for (String f : expectedFragments) {
            assertTrue(line.contains(f), "message '" + line + "' should mention '" + f + "'");
        }
        assertFalse(Files.exists(out), "no output file");
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".out.onnx")), "no temp files left");
        }
        if (before != null) {
            assertArrayEquals(before, Files.readAllBytes(in), "input unchanged");
        }
    }

    @Test
    void missingFile() throws IOException {
        Path in = dir.resolve("nope.onnx");
        assertFailsCleanly(in, in.toString(), "no such file");
    }

    @Test
    void notAnOnnxProtobuf() throws IOException {
        Path in = dir.resolve("text.onnx");
        Files.writeString(in, "this is a text file, not a model\n");
        assertFailsCleanly(in, in.toString(), "not an ONNX");
    }

    @Test
    void truncatedFile() throws IOException {
        Path full = TinyModels.withExternalWeight(dir, "w.bin", 1024);
        byte[] bytes = Files.readAllBytes(full);
        Path in = dir.resolve("truncated.onnx");
        Files.write(in, Arrays.copyOf(bytes, bytes.length - 7));
        assertFailsCleanly(in, in.toString(), "truncated");
    }

    @Test
    void missingExternalData() throws IOException {
        Path in = TinyModels.withExternalWeight(dir, "weights.bin", -1);
        assertFailsCleanly(in, "weights.bin", "missing");
    }

    @Test
    void externalDataShorterThanOffsetsSay() throws IOException {
        Path in = TinyModels.withExternalWeight(dir, "weights.bin", 1000);
        assertFailsCleanly(in, "weights.bin", "shorter than its offsets say");
    }

    @Test
    void cyclicGraph() throws IOException {
        Path in = TinyModels.cyclic(dir);
        assertFailsCleanly(in, in.toString(), "cycle");
    }

    @Test
    void outputEqualToInput() throws IOException {
        Path in = TinyModels.relu(dir);
        byte[] before = Files.readAllBytes(in);
        CliRunner r = CliRunner.run(in.toString(), in.toString(), "--quiet");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("the output is the input"), r.err());
        assertArrayEquals(before, Files.readAllBytes(in));
        CliRunner viaDots = CliRunner.run(in.toString(), dir.resolve(".").resolve(in.getFileName()).toString());
        assertEquals(1, viaDots.exitCode());
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, CliRunner.run().exitCode());
        assertEquals(2, CliRunner.run("a.onnx", "b.onnx", "--no-such-option").exitCode());
        CliRunner help = CliRunner.run("--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("--quiet"));
    }

    @Test
    void goodModelWritesAndSummarises() throws IOException {
        Path in = TinyModels.withExternalWeight(dir, "w.bin", 1024);
        Path out = dir.resolve("good.onnx");
        CliRunner r = CliRunner.run(in.toString(), out.toString(), "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.exists(out));
        assertTrue(r.out().contains("2 nodes"), r.out());
        assertTrue(r.out().contains("1,024 bytes external"), r.out());
        // deterministic: same input and options give byte-identical files
        Path again = dir.resolve("again.onnx");
        CliRunner.run(in.toString(), again.toString(), "--quiet");
        assertArrayEquals(Files.readAllBytes(out), Files.readAllBytes(again));
    }
}
