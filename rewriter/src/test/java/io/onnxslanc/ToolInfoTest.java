package io.onnxslanc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ToolInfoTest {
    @Test
    void versionIsTheParentPomsVersion() throws IOException {
        String pom = Files.readString(Path.of("..", "pom.xml"));
        Matcher m = Pattern.compile("<artifactId>onnx-slanc-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find());
        assertEquals(m.group(1), ToolInfo.version());
    }

    @Test
    void stampedPutsTheHeaderFirstAndReplacesAnOldOne() throws IOException {
        String json = ToolInfo.stamped("calibration",
                "{\"norms\": [1, 2], \"schema\": \"other/7\", \"tool\": \"x\", \"warnings\": []}");
        JsonNode tree = new ObjectMapper().readTree(json);
        List<String> keys = new ArrayList<>();
        tree.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("tool", "version", "schema", "norms", "warnings"), keys);
        assertEquals("onnx-slanc", tree.get("tool").asText());
        assertEquals(ToolInfo.version(), tree.get("version").asText());
        assertEquals("calibration/1", tree.get("schema").asText());
        assertEquals(2, tree.get("norms").size());
    }
}
