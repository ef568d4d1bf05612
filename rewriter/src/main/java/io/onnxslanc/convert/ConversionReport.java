package io.onnxslanc.convert;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.onnxslanc.ToolInfo;
import io.onnxslanc.ir.DataType;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@link Fp16Converter#convert} did. The structural counts are final when convert returns.
 * Clamp counts are taken when a tensor is actually converted, i.e. while the model is written
 * (weights are never converted twice nor held whole on the heap for counting); call
 * {@link #finishClampCounts()} to count the remaining tensors before writing, at the cost of one
 * streaming read of their data.
 */
public final class ConversionReport {

    /** A converted tensor whose values were clamped: how many above the range and how many below. */
    public record ClampedTensor(String name, long clampedHigh, long clampedLow) {
    }

    private final DataType target;
    private String alreadyConverted; // reason, or null
    int castsInserted;
    int castsRemoved;
    int castsPatched;
    int dtypeAttributesPatched;
    int initializersKeptFp32;
    int initializersSplit;
    int constantNodesSplit;
    int valuesRetyped;
    private final Map<String, String> blockedNodes = new LinkedHashMap<>(); // node name -> reason
    private final Map<String, ConvertedTensor> converted = new LinkedHashMap<>();

    ConversionReport(DataType target) {
        this.target = target;
    }

    void markAlreadyConverted(String reason) {
        this.alreadyConverted = reason;
    }

    void addBlocked(String nodeName, String reason) {
        blockedNodes.put(uniqueKey(blockedNodes, nodeName), reason);
    }

    void addConverted(String name, ConvertedTensor t) {
        converted.put(uniqueKey(converted, name), t);
    }

    /** Node and attribute names need not be unique; the report keeps every entry. */
    private static String uniqueKey(Map<String, ?> map, String name) {
        String key = name;
        for (int i = 1; map.containsKey(key); i++) {
            key = name + "#" + i;
        }
        return key;
    }

    public DataType target() {
        return target;
    }

    /** True when the model was already in float16 / bfloat16 and was left as it was. */
    public boolean alreadyConverted() {
        return alreadyConverted != null;
    }

    /** Why the model counts as already converted, or null. */
    public String alreadyConvertedReason() {
        return alreadyConverted;
    }

    /** Float32 tensors (initializers and tensor attributes) replaced by converted ones. */
    public int tensorsConverted() {
        return converted.size();
    }

    public long bytesBefore() {
        return converted.values().stream().mapToLong(t -> t.source().byteSize()).sum();
    }

    public long bytesAfter() {
        return converted.values().stream().mapToLong(ConvertedTensor::byteSize).sum();
    }

    public int castsInserted() {
        return castsInserted;
    }

    public int castsRemoved() {
        return castsRemoved;
    }

    /** Cast(to=FLOAT) nodes retargeted to the target type. */
    public int castsPatched() {
        return castsPatched;
    }

    /** dtype / output_datatype attributes (Random*, EyeLike, window ops) set to the target type. */
    public int dtypeAttributesPatched() {
        return dtypeAttributesPatched;
    }

    /** Float32 initializers used only by float32 nodes, left as they were. */
    public int initializersKeptFp32() {
        return initializersKeptFp32;
    }

    /** Initializers used by float32 and converted nodes alike: one float32 and one converted copy. */
    public int initializersSplit() {
        return initializersSplit;
    }

    public int constantNodesSplit() {
        return constantNodesSplit;
    }

    /** Declared value types (inputs, outputs, value_info) changed from float32. */
    public int valuesRetyped() {
        return valuesRetyped;
    }

    public int blockedNodeCount() {
        return blockedNodes.size();
    }

    /** Nodes computed in float32, with the reason, in graph order. */
    public Map<String, String> blockedNodes() {
        return Collections.unmodifiableMap(blockedNodes);
    }

    /** Converted tensors by name (attribute tensors as "node/attribute"). */
    public Map<String, ConvertedTensor> convertedTensors() {
        return Collections.unmodifiableMap(converted);
    }

    /** Whether every converted tensor has been converted (so the clamp counts are final). */
    public boolean clampCountsComplete() {
        return converted.values().stream().allMatch(t -> t.stats().isPresent());
    }

    /** Counts clamps of the tensors not converted yet, streaming their data once. */
    public void finishClampCounts() {
        converted.values().stream().filter(t -> t.stats().isEmpty()).forEach(ConvertedTensor::countClamps);
    }

    /**
     * Takes the clamp counts of {@code other}'s tensors that convert the same bytes (equal content keys) as a tensor
     * of this report not converted yet: used when a writer reused the output of another conversion of the same model.
     */
    public void adoptClampCounts(ConversionReport other) {
        converted.forEach((name, t) -> {
            ConvertedTensor twin = other.converted.get(name);
            if (twin != null && t.stats().isEmpty() && t.contentKey().isPresent()
                    && t.contentKey().equals(twin.contentKey())) {
                twin.stats().ifPresent(t::adoptStats);
            }
        });
    }

    /** Tensors with clamped values, among those converted so far. */
    public List<ClampedTensor> clampedTensors() {
        List<ClampedTensor> out = new ArrayList<>();
        converted.forEach((name, t) -> t.stats().filter(s -> s.clamped() > 0)
                .ifPresent(s -> out.add(new ClampedTensor(name, s.clampedHigh(), s.clampedLow()))));
        return out;
    }

    private Map<String, Integer> blockedByReason() {
        Map<String, Integer> m = new TreeMap<>();
        blockedNodes.values().forEach(r -> m.merge(r, 1, Integer::sum));
        return m;
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        String t = target.name().toLowerCase(Locale.ROOT);
        if (alreadyConverted()) {
            return "FP16 conversion: nothing done, the model is already converted (" + alreadyConverted + ")\n";
        }
        sb.append(String.format("FP16 conversion to %s: %d tensors converted, %d -> %d bytes%n",
                t, tensorsConverted(), bytesBefore(), bytesAfter()));
        sb.append(String.format("  casts: %d inserted, %d removed, %d Cast(to=FLOAT) patched; %d dtype attributes patched%n",
                castsInserted, castsRemoved, castsPatched, dtypeAttributesPatched));
        sb.append(String.format("  initializers: %d kept float32, %d split (float32 copy for float32 nodes); %d Constant nodes split%n",
                initializersKeptFp32, initializersSplit, constantNodesSplit));
        sb.append(String.format("  float32 nodes: %d %s%n", blockedNodes.size(), blockedNodes.isEmpty() ? "" : blockedByReason()));
        List<ClampedTensor> clamped = clampedTensors();
        long pending = converted.values().stream().filter(c -> c.stats().isEmpty()).count();
        sb.append(String.format("  clamped: %d tensors%s%n", clamped.size(),
                pending == 0 ? "" : " so far (" + pending + " tensors not converted yet: counted while writing)"));
        for (ClampedTensor c : clamped) {
            sb.append(String.format("    %s: %d above the range, %d below%n", c.name(), c.clampedHigh(), c.clampedLow()));
        }
        return sb.toString();
    }

    public String toJson() {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = ToolInfo.header("conversion");
        root.put("target", target.name());
        root.put("alreadyConverted", alreadyConverted());
        if (alreadyConverted()) {
            root.put("alreadyConvertedReason", alreadyConverted);
        }
        root.put("tensorsConverted", tensorsConverted());
        root.put("bytesBefore", bytesBefore());
        root.put("bytesAfter", bytesAfter());
        root.put("castsInserted", castsInserted);
        root.put("castsRemoved", castsRemoved);
        root.put("castsPatched", castsPatched);
        root.put("dtypeAttributesPatched", dtypeAttributesPatched);
        root.put("initializersKeptFp32", initializersKeptFp32);
        root.put("initializersSplit", initializersSplit);
        root.put("constantNodesSplit", constantNodesSplit);
        root.put("valuesRetyped", valuesRetyped);
        ObjectNode blocked = root.putObject("blockedNodes");
        blockedNodes.forEach(blocked::put);
        root.put("clampCountsComplete", clampCountsComplete());
        ArrayNode clamped = root.putArray("clampedTensors");
        for (ClampedTensor c : clampedTensors()) {
            clamped.addObject().put("name", c.name()).put("clampedHigh", c.clampedHigh()).put("clampedLow", c.clampedLow());
        }
        try {
            return om.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return toText();
    }
}
