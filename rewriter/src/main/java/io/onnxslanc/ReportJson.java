package io.onnxslanc;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.match.NormCandidates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one place the library's reports become JSON: every report opens with the header of {@link ToolInfo}
 * ({@code "tool"}, {@code "version"}, {@code "schema": "<kind>/1"}), then its own fields. The reports themselves are
 * plain data; the CLI embeds these objects in its own report file without re-parsing text.
 */
public final class ReportJson {
    /** A candidate in the main graph has no "subgraph" in JSON, as a norm there has none (match stays free of Jackson). */
    private interface CandidateJson {
        @JsonInclude(JsonInclude.Include.NON_NULL)
        String subgraph();
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .addMixIn(NormCandidates.Candidate.class, CandidateJson.class);

    private ReportJson() {
    }

    /** The calibration report (schema {@code calibration/1}): summary counts and one entry per norm. */
    public static ObjectNode calibration(CalibrationReport r) {
        return ToolInfo.stamped("calibration", (ObjectNode) JSON.valueToTree(r));
    }

    /** The FP16 conversion report (schema {@code conversion/1}); clamp counts as far as taken. */
    public static ObjectNode conversion(ConversionReport r) {
        ObjectNode root = ToolInfo.header("conversion");
        root.put("target", r.target().name());
        root.put("alreadyConverted", r.alreadyConverted());
        if (r.alreadyConverted()) {
            root.put("alreadyConvertedReason", r.alreadyConvertedReason());
        }
        root.put("tensorsConverted", r.tensorsConverted());
        root.put("bytesBefore", r.bytesBefore());
        root.put("bytesAfter", r.bytesAfter());
        root.put("castsInserted", r.castsInserted());
        root.put("castsRemoved", r.castsRemoved());
        root.put("castsPatched", r.castsPatched());
        root.put("dtypeAttributesPatched", r.dtypeAttributesPatched());
        root.put("initializersKeptFp32", r.initializersKeptFp32());
        root.put("initializersSplit", r.initializersSplit());
        root.put("constantNodesSplit", r.constantNodesSplit());
        root.put("valuesRetyped", r.valuesRetyped());
        ObjectNode blocked = root.putObject("blockedNodes");
        r.blockedNodes().forEach(blocked::put);
        root.put("clampCountsComplete", r.clampCountsComplete());
        ArrayNode clamped = root.putArray("clampedTensors");
        for (ConversionReport.ClampedTensor c : r.clampedTensors()) {
            clamped.addObject().put("name", c.name()).put("clampedHigh", c.clampedHigh()).put("clampedLow", c.clampedLow());
        }
        return root;
    }

    /** Pretty-printed JSON text. */
    public static String text(ObjectNode report) {
        try {
            return JSON.writeValueAsString(report);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a report: " + e.getMessage(), e);
        }
    }

    /** Writes the calibration report to {@code file}. */
    public static void write(CalibrationReport r, Path file) {
        try {
            Files.writeString(file, text(calibration(r)) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write the report: " + e.getMessage(), e);
        }
    }
}
