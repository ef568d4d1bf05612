package io.onnxslanc.convert;

import io.onnxslanc.ir.DataType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@link Fp16Converter#convert} did, built by the converter when it returns. Clamp counts are taken when a
 * tensor is actually converted, i.e. while the model is written (weights are never converted twice nor held whole
 * on the heap for counting), so they live in the {@link ConvertedTensor}s; call {@link #finishClampCounts()} to
 * count the remaining tensors before writing, at the cost of one streaming read of their data. JSON:
 * {@code io.onnxslanc.ReportJson}.
 *
 * @param alreadyConvertedReason why the model counts as already converted, or null
 * @param castsPatched           Cast(to=FLOAT) nodes retargeted to the target type
 * @param dtypeAttributesPatched dtype / output_datatype attributes (Random*, EyeLike, window ops) set to the target
 * @param initializersKeptFp32   float32 initializers used only by float32 nodes, left as they were
 * @param initializersSplit      initializers used by float32 and converted nodes alike: one float32 and one
 *                               converted copy
 * @param valuesRetyped          declared value types (inputs, outputs, value_info) changed from float32
 * @param blockedNodes           nodes computed in float32, with the reason, in graph order
 * @param convertedTensors       converted tensors by name (attribute tensors as "node/attribute")
 */
public record ConversionReport(DataType target, String alreadyConvertedReason, int castsInserted, int castsRemoved,
                               int castsPatched, int dtypeAttributesPatched, int initializersKeptFp32,
                               int initializersSplit, int constantNodesSplit, int valuesRetyped,
                               Map<String, String> blockedNodes, Map<String, ConvertedTensor> convertedTensors) {

    /** A converted tensor whose values were clamped: how many above the range and how many below. */
    public record ClampedTensor(String name, long clampedHigh, long clampedLow) {
    }

    public ConversionReport {
        blockedNodes = Collections.unmodifiableMap(new LinkedHashMap<>(blockedNodes));
        convertedTensors = Collections.unmodifiableMap(new LinkedHashMap<>(convertedTensors));
    }

    /** True when the model was already in float16 / bfloat16 and was left as it was. */
    public boolean alreadyConverted() {
        return alreadyConvertedReason != null;
    }

    /** Float32 tensors (initializers and tensor attributes) replaced by converted ones. */
    public int tensorsConverted() {
        return convertedTensors.size();
    }

    public long bytesBefore() {
        return convertedTensors.values().stream().mapToLong(t -> t.source().byteSize()).sum();
    }

    public long bytesAfter() {
        return convertedTensors.values().stream().mapToLong(ConvertedTensor::byteSize).sum();
    }

    public int blockedNodeCount() {
        return blockedNodes.size();
    }

    /** Whether every converted tensor has been converted (so the clamp counts are final). */
    public boolean clampCountsComplete() {
        return convertedTensors.values().stream().allMatch(t -> t.stats().isPresent());
    }

    /** Counts clamps of the tensors not converted yet, streaming their data once. */
    public void finishClampCounts() {
        convertedTensors.values().stream().filter(t -> t.stats().isEmpty()).forEach(ConvertedTensor::countClamps);
    }

    /**
     * Takes the clamp counts of {@code other}'s tensors that convert the same bytes (equal content keys) as a tensor
     * of this report not converted yet: used when a writer reused the output of another conversion of the same model.
     */
    public void adoptClampCounts(ConversionReport other) {
        convertedTensors.forEach((name, t) -> {
            ConvertedTensor twin = other.convertedTensors.get(name);
            if (twin != null && t.stats().isEmpty() && t.contentKey().isPresent()
                    && t.contentKey().equals(twin.contentKey())) {
                twin.stats().ifPresent(t::adoptStats);
            }
        });
    }

    /** Tensors with clamped values, among those converted so far. */
    public List<ClampedTensor> clampedTensors() {
        List<ClampedTensor> out = new ArrayList<>();
        convertedTensors.forEach((name, t) -> t.stats().filter(s -> s.clamped() > 0)
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
            return "FP16 conversion: nothing done, the model is already converted (" + alreadyConvertedReason + ")\n";
        }
        sb.append(String.format("FP16 conversion to %s: %d tensors converted, %d -> %d bytes%n",
                t, tensorsConverted(), bytesBefore(), bytesAfter()));
        sb.append(String.format("  casts: %d inserted, %d removed, %d Cast(to=FLOAT) patched; %d dtype attributes patched%n",
                castsInserted, castsRemoved, castsPatched, dtypeAttributesPatched));
        sb.append(String.format("  initializers: %d kept float32, %d split (float32 copy for float32 nodes); %d Constant nodes split%n",
                initializersKeptFp32, initializersSplit, constantNodesSplit));
        sb.append(String.format("  float32 nodes: %d %s%n", blockedNodes.size(), blockedNodes.isEmpty() ? "" : blockedByReason()));
        List<ClampedTensor> clamped = clampedTensors();
        long pending = convertedTensors.values().stream().filter(c -> c.stats().isEmpty()).count();
        sb.append(String.format("  clamped: %d tensors%s%n", clamped.size(),
                pending == 0 ? "" : " so far (" + pending + " tensors not converted yet: counted while writing)"));
        for (ClampedTensor c : clamped) {
            sb.append(String.format("    %s: %d above the range, %d below%n", c.name(), c.clampedHigh(), c.clampedLow()));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return toText();
    }
}
