package io.onnxslanc.samples.exports;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One committed exporter fixture: {@code fixtures/exports/<name>.onnx} and what {@code export_fixtures.py} computed
 * for it in float64 from the torch module's own parameters ({@code <name>.expected.json}).
 */
record ExportFixture(String name, Path model, JsonNode expected, List<ExpectedNorm> norms) {

    /** The folder, found from the module directory upwards (system property {@code slanc.fixtures} overrides). */
    static Path folder() {
        String override = System.getProperty("slanc.fixtures");
        if (override != null) {
            return Path.of(override);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("fixtures").resolve("exports");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("fixtures/exports not found above " + Path.of("").toAbsolutePath());
    }

    /** Every fixture in the folder, by name. */
    static Stream<ExportFixture> all() {
        Path dir = folder();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".expected.json")).sorted()
                    .map(ExportFixture::load).toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
    }

    static ExportFixture load(Path json) {
        try {
            JsonNode root = new ObjectMapper().readTree(json.toFile());
            String name = root.get("fixture").asText();
            List<ExpectedNorm> norms = new ArrayList<>();
            for (JsonNode n : root.get("norms")) {
                norms.add(ExpectedNorm.of(n));
            }
            return new ExportFixture(name, json.resolveSibling(name + ".onnx"), root, List.copyOf(norms));
        } catch (IOException e) {
            throw new UncheckedIOException(json + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return name;
    }

    /**
     * One norm as the script describes it.
     *
     * @param module     the torch module path (for messages)
     * @param gain       the gain initializer in the ONNX file (for Gemma without constant folding: the weight w of
     *                   the gain expression 1 + w), or null
     * @param output     the norm's output value
     * @param role       first / attention / mlp / gated_mlp / cross_attention / parallel / final
     * @param formula    the formula used
     * @param s          the expected SLaNC scale, unrounded (1 for first norms)
     * @param embeddingBound the first norm's largest embedding row norm as the script computed it, else null
     * @param inputs     which weights the formula read (torch names)
     * @param branch     the If branch holding the norm (merged decoders), else null
     * @param knownGap   why the library does not scale this norm yet (its block is not one it knows), else null;
     *                   the test then requires it to stay unscaled, so a fix has to update the fixture
     */
    record ExpectedNorm(String module, String gain, String output, String role, String formula, double s,
                        Double embeddingBound, String inputs, String branch, String knownGap) {
        static ExpectedNorm of(JsonNode n) {
            JsonNode bound = n.get("first_norm_from_embedding");
            return new ExpectedNorm(n.get("module").asText(), text(n.get("gain")), text(n.get("output")),
                    n.get("role").asText(), n.get("formula").asText(), n.get("s").asDouble(),
                    bound == null || bound.isNull() ? null : bound.asDouble(), n.get("formula_inputs").toString(),
                    text(n.get("branch")), text(n.get("known_gap")));
        }

        boolean first() {
            return role.equals("first");
        }

        private static String text(JsonNode v) {
            return v == null || v.isNull() ? null : v.asText();
        }

        @Override
        public String toString() {
            return module + " (output " + output + ", gain " + gain + ", " + role
                    + (branch == null ? "" : ", If branch " + branch.substring(0, branch.indexOf(':'))) + ")";
        }
    }
}
