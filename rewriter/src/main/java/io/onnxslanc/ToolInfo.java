package io.onnxslanc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Properties;

/**
 * The tool's name and version, and the three fields that open every JSON report it writes:
 * {@code "tool": "onnx-slanc", "version": "<the POM's version>", "schema": "<report kind>/1"}. The version comes from
 * a resource that Maven fills in from the parent POM, so the jar, {@code --version} and the reports cannot disagree.
 * A report kind's number goes up when a field is renamed or removed (adding fields keeps it).
 */
public final class ToolInfo {
    public static final String NAME = "onnx-slanc";
    /** The header keys, in the order they are written. */
    public static final List<String> HEADER_KEYS = List.of("tool", "version", "schema");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String VERSION = readVersion();

    private ToolInfo() {
    }

    /** The POM's version, e.g. {@code 0.1.0-SNAPSHOT}. */
    public static String version() {
        return VERSION;
    }

    /** {@code "kind/1"}: the schema name of a report kind in its current revision. */
    public static String schema(String kind) {
        return kind + "/1";
    }

    /** A new JSON object holding only the header of a report of this kind. */
    public static ObjectNode header(String kind) {
        ObjectNode root = JSON.createObjectNode();
        root.put("tool", NAME);
        root.put("version", VERSION);
        root.put("schema", schema(kind));
        return root;
    }

    /** {@code report} with the header first, then its own fields (a header it already had is replaced). */
    public static ObjectNode stamped(String kind, ObjectNode report) {
        ObjectNode root = header(kind);
        report.fields().forEachRemaining(e -> {
            if (!HEADER_KEYS.contains(e.getKey())) {
                root.set(e.getKey(), e.getValue());
            }
        });
        return root;
    }

    /** The same, for a report already rendered as JSON text (an object); pretty-printed. */
    public static String stamped(String kind, String reportJson) {
        try {
            JsonNode tree = JSON.readTree(reportJson);
            if (!(tree instanceof ObjectNode object)) {
                throw new IllegalArgumentException(kind + " report is not a JSON object");
            }
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(stamped(kind, object));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(kind + " report is not JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static String readVersion() {
        try (InputStream in = ToolInfo.class.getResourceAsStream("onnx-slanc.properties")) {
            if (in == null) {
                throw new IllegalStateException("onnx-slanc.properties is missing from the jar (a broken build)");
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "");
            if (v.isBlank() || v.contains("${")) {
                throw new IllegalStateException("onnx-slanc.properties holds no filtered version (a broken build): " + v);
            }
            return v.strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
