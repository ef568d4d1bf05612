package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.testing.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code onnx-slanc IN OUT} on stories260K with its weights in an external data file, the way big models come: the
 * FP16 data streams out while SLaNC computes, and the result is what the inline input gives, with the same
 * perplexity as the original.
 */
class StreamedPipelineCommandTest {

    private static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static double ppl(Path model) {
        CliRunner r = CliRunner.run("perplexity", model.toString(), "--text", SharedData.tinyStoriesVal().toString(),
                "--tokenizer", SharedData.tok512().toString(), "--max-tokens", "128");
        assertEquals(0, r.exitCode(), r.err());
        String line = r.out().lines().filter(l -> l.startsWith("ppl ")).findFirst().orElseThrow();
        return Double.parseDouble(line.split("\\s+")[1]);
    }

    @Test
    void externalDataInputIsStreamedOnceAndGivesTheSameModel(@TempDir Path dir) throws Exception {
        Path external = dir.resolve("ext").resolve("stories.onnx");
        Files.createDirectories(external.getParent());
        assertEquals(0, CliRunner.run("import-llama2c", SharedData.stories260K().toString(), external.toString(),
                "--external-data").exitCode());
        Path inline = dir.resolve("stories-inline.onnx");
        assertEquals(0, CliRunner.run("import-llama2c", SharedData.stories260K().toString(), inline.toString()).exitCode());

        Path streamed = dir.resolve("a").resolve("out.onnx");
        CliRunner r = CliRunner.run(external.toString(), streamed.toString(), "--external-data", "-q");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("streamed while SLaNC computed"), r.out());
        assertEquals(List.of("out.onnx", "out.onnx.data"), files(streamed.getParent()), "no temp file left");

        Path sequential = dir.resolve("b").resolve("out.onnx"); // inline input: no spool, data written after SLaNC
        CliRunner s = CliRunner.run(inline.toString(), sequential.toString(), "--external-data", "-q");
        assertEquals(0, s.exitCode(), s.err());
        assertTrue(!s.out().contains("streamed while SLaNC computed"), s.out());
        assertArrayEquals(Files.readAllBytes(sequential.resolveSibling("out.onnx.data")),
                Files.readAllBytes(streamed.resolveSibling("out.onnx.data")), "same FP16 weights");

        double original = ppl(inline);
        double converted = ppl(streamed);
        assertTrue(Math.abs(converted / original - 1) < 0.005, "SLaNC + FP16 " + converted + " vs FP32 " + original);
    }
}
