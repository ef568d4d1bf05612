package io.onnxslanc.cli;

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
 * The "wrote OUT (+ DATA)" line names the data file that is really there: replacing an existing output pair writes
 * the new data under a fresh name (NAME.&lt;digest&gt;.data) so that a kill leaves one whole pair, and the line
 * must say so rather than print the usual NAME.data, which no longer exists.
 */
class WroteLineTest {

    private static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static String dataNameInWroteLine(String out) {
        String line = out.lines().filter(l -> l.startsWith("wrote ")).findFirst().orElseThrow(() -> new AssertionError(out));
        int open = line.indexOf("(+ ");
        assertTrue(open > 0, line);
        String rest = line.substring(open + 3);
        int end = rest.indexOf(rest.contains(",") ? ',' : ')');
        return rest.substring(0, end);
    }

    @Test
    void secondRunOverTheSamePairNamesTheFreshDataFile(@TempDir Path dir) throws Exception {
        Path input = dir.resolve("stories.onnx");
        assertEquals(0, CliRunner.run("import-llama2c", SharedData.stories260K().toString(), input.toString()).exitCode());
        Path out = dir.resolve("o").resolve("out.onnx");

        CliRunner first = CliRunner.run(input.toString(), out.toString(), "--external-data", "-q");
        assertEquals(0, first.exitCode(), first.err());
        assertEquals("out.onnx.data", dataNameInWroteLine(first.out()));

        CliRunner second = CliRunner.run(input.toString(), out.toString(), "--external-data", "-q");
        assertEquals(0, second.exitCode(), second.err());
        List<String> present = files(out.getParent());
        assertEquals(2, present.size(), "one pair left: " + present);
        String data = present.stream().filter(n -> !n.equals("out.onnx")).findFirst().orElseThrow();
        assertTrue(data.matches("out\\.onnx\\.[0-9a-f]{16}\\.data"), "the replacing run writes a fresh data name: " + present);
        assertEquals(data, dataNameInWroteLine(second.out()), second.out());
        assertTrue(new String(Files.readAllBytes(out), java.nio.charset.StandardCharsets.ISO_8859_1).contains(data),
                "the model references the file the line names");
    }
}
