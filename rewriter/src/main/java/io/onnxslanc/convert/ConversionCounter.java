package io.onnxslanc.convert;

import io.onnxslanc.ir.DataType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the converter counts while it works; {@link #freeze()} turns it into the immutable {@link ConversionReport}
 * that {@link Fp16Converter#convert} returns. Only the converter writes it.
 */
final class ConversionCounter {
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

    ConversionCounter(DataType target) {
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

    ConversionReport freeze() {
        return new ConversionReport(target, alreadyConverted, castsInserted, castsRemoved, castsPatched,
                dtypeAttributesPatched, initializersKeptFp32, initializersSplit, constantNodesSplit, valuesRetyped,
                blockedNodes, converted);
    }
}
