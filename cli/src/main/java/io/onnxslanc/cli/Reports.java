package io.onnxslanc.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.onnxslanc.ToolInfo;
import io.onnxslanc.io.ModelFormatException;
import io.onnxslanc.io.TempFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The JSON report a command writes with --report / --json: the header (tool, version, schema "{@code kind}/1", see
 * {@link ToolInfo}), then sections from each stage, in order. A stage's own header is dropped: the file has one.
 */
final class Reports {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final ObjectNode root;

    /** {@code kind}: the command's report kind (convert, check, probe, perplexity, amplify). */
    Reports(String kind) {
        root = ToolInfo.header(kind);
    }

    void put(String key, String value) {
        root.put(key, value);
    }

    void putPojo(String key, Object value) {
        root.set(key, JSON.valueToTree(value));
    }

    /** Embeds a stage's report (see {@link io.onnxslanc.ReportJson}); its header is dropped. */
    void put(String key, ObjectNode section) {
        root.set(key, withoutHeader(section.deepCopy()));
    }

    /** Copies every field of a stage's report to the top level (the calibration's "norms" array lives there). */
    void merge(ObjectNode section) {
        root.setAll((ObjectNode) withoutHeader(section.deepCopy()));
    }

    private static com.fasterxml.jackson.databind.JsonNode withoutHeader(com.fasterxml.jackson.databind.JsonNode section) {
        if (section instanceof ObjectNode o) {
            o.remove(ToolInfo.HEADER_KEYS);
        }
        return section;
    }

    /** Fails now, with the message {@link #write} would give, when {@code file} cannot be created. */
    static void checkWritable(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            TempFiles.deleteQuietly(TempFiles.beside(file));
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot write report: " + e.getMessage(), e);
        }
    }

    void write(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = TempFiles.beside(file);
            Files.writeString(tmp, JSON.writeValueAsString(root) + "\n");
            TempFiles.moveIntoPlace(tmp, file);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot write report: " + e.getMessage(), e);
        }
    }
}
