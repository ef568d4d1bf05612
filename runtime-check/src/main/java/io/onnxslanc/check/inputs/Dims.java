package io.onnxslanc.check.inputs;

import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The concrete shape of each model input: {@code --input-shape NAME=...} when given, else the declared fixed dims
 * with every symbolic dim set by {@code --dim SYMBOL=value}, or by default to the batch size (a dim named *batch*,
 * or an unnamed-role first dim) or the sequence length (every other). Remembers the value each symbol got, for
 * messages.
 */
final class Dims {
    private final InputSpec spec;
    private final Map<String, Long> used = new LinkedHashMap<>();

    Dims(InputSpec spec, List<ValueInfoProto> inputs) {
        this.spec = spec;
        check(spec, inputs);
    }

    /** Rejects --input-shape names and --dim symbols the model does not have, and shapes that contradict it. */
    private static void check(InputSpec spec, List<ValueInfoProto> inputs) {
        Set<String> symbols = new LinkedHashSet<>();
        Map<String, ValueInfoProto> byName = new LinkedHashMap<>();
        for (ValueInfoProto in : inputs) {
            byName.put(in.getName(), in);
            for (TensorShapeProto.Dimension d : declared(in)) {
                if (!d.getDimParam().isEmpty()) {
                    symbols.add(d.getDimParam());
                }
            }
        }
        for (String s : spec.dims().keySet()) {
            if (!symbols.contains(s)) {
                throw new IllegalArgumentException("--dim " + s + ": the model has no symbolic dimension '" + s + "'"
                        + (symbols.isEmpty() ? " (all its input dims are fixed)" : " (symbols: " + String.join(", ", symbols) + ")"));
            }
        }
        for (Map.Entry<String, long[]> e : spec.shapes().entrySet()) {
            ValueInfoProto in = byName.get(e.getKey());
            if (in == null) {
                throw new IllegalArgumentException("--input-shape " + e.getKey() + ": the model has no input '" + e.getKey()
                        + "' (inputs: " + String.join(", ", byName.keySet()) + ")");
            }
            List<TensorShapeProto.Dimension> dims = declared(in);
            long[] given = e.getValue();
            if (!in.getType().getTensorType().hasShape()) {
                continue; // rank unknown: any shape
            }
            if (dims.size() != given.length) {
                throw new IllegalArgumentException("--input-shape " + e.getKey() + "=" + join(given) + ": input '" + e.getKey()
                        + "' has rank " + dims.size() + " (" + describe(in) + ")");
            }
            for (int i = 0; i < given.length; i++) {
                TensorShapeProto.Dimension d = dims.get(i);
                if (d.hasDimValue() && d.getDimValue() > 0 && d.getDimValue() != given[i]) {
                    throw new IllegalArgumentException("--input-shape " + e.getKey() + "=" + join(given) + ": dimension " + i
                            + " of input '" + e.getKey() + "' is fixed at " + d.getDimValue() + " (" + describe(in) + ")");
                }
            }
        }
    }

    long[] shape(ValueInfoProto in) {
        long[] given = spec.shapes().get(in.getName());
        if (given != null) {
            return given.clone();
        }
        List<TensorShapeProto.Dimension> dims = declared(in);
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dim(dims.get(i), i);
        }
        return shape;
    }

    /** A declared fixed dim, or the value of its symbol. */
    long dim(TensorShapeProto.Dimension d, int index) {
        if (d.hasDimValue() && d.getDimValue() > 0) {
            return d.getDimValue();
        }
        String symbol = d.getDimParam();
        long value = spec.dims().containsKey(symbol) ? spec.dims().get(symbol) : isBatch(symbol, index) ? spec.batch() : spec.sequenceLength();
        if (!symbol.isEmpty()) {
            used.put(symbol, value);
        }
        return value;
    }

    /** Whether a symbolic dim is set explicitly by --dim. */
    boolean isGiven(TensorShapeProto.Dimension d) {
        return !d.hasDimValue() && spec.dims().containsKey(d.getDimParam());
    }

    void record(String symbol, long value) {
        if (!symbol.isEmpty()) {
            used.put(symbol, value);
        }
    }

    static boolean isBatch(String symbol, int index) {
        String s = symbol.toLowerCase(Locale.ROOT);
        return s.contains("batch") || (index == 0 && !s.contains("seq") && !s.contains("len") && !s.contains("past"));
    }

    Map<String, Long> used() {
        return Map.copyOf(used);
    }

    static List<TensorShapeProto.Dimension> declared(ValueInfoProto in) {
        return in.getType().getTensorType().getShape().getDimList();
    }

    static String describe(ValueInfoProto in) {
        StringBuilder s = new StringBuilder("[");
        List<TensorShapeProto.Dimension> dims = declared(in);
        for (int i = 0; i < dims.size(); i++) {
            TensorShapeProto.Dimension d = dims.get(i);
            s.append(i == 0 ? "" : ",").append(d.hasDimValue() ? Long.toString(d.getDimValue())
                    : d.getDimParam().isEmpty() ? "?" : d.getDimParam());
        }
        return s.append(']').toString();
    }

    private static String join(long[] v) {
        return String.join(",", Arrays.stream(v).mapToObj(Long::toString).toList());
    }
}
