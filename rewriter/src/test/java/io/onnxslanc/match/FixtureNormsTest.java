package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.ir.Model;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Real torch.onnx exports (fixtures/exports, written by fixtures/export_fixtures.py from PyTorch modules with seeded
 * weights): every norm the exporter's module list names (expected.json, an independent record written at export
 * time) is found, with the same output value.
 */
class FixtureNormsTest {
    private static final Path EXPORTS = Path.of("..", "fixtures", "exports");

    static Stream<String> fixtures() throws IOException {
        if (!Files.isDirectory(EXPORTS)) {
            return Stream.empty();
        }
        try (Stream<Path> files = Files.list(EXPORTS)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".expected.json"))
                    .map(n -> n.substring(0, n.length() - ".expected.json".length())).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void everyExpectedNormIsFoundWithItsOutput(String fixture) throws IOException {
        JsonNode expected = new ObjectMapper().readTree(EXPORTS.resolve(fixture + ".expected.json").toFile());
        Model model = ModelReader.read(EXPORTS.resolve(fixture + ".onnx"));
        List<NormSite> sites = NormMatcher.findAll(model.graph());
        Set<String> found = sites.stream().map(s -> s.output().name()).collect(Collectors.toCollection(TreeSet::new));
        Set<String> wanted = new TreeSet<>();
        expected.get("norms").forEach(n -> wanted.add(n.get("output").asText()));
        assertEquals(expected.get("norms").size(), sites.size(), fixture + ": found " + found);
        assertEquals(wanted, found, fixture);
        for (NormSite s : sites) {
            assertTrue(s.hiddenSize() > 0, fixture + ": d of " + s.name());
        }
    }
}
