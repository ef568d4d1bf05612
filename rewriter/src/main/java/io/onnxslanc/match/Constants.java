package io.onnxslanc.match;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.ir.Walk;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Reads constants the way exporters write them: an initializer, or the output of a Constant
 * node (attribute value, value_float, value_int, value_floats, value_ints), possibly behind a
 * Cast or Identity (ONNX function bodies cast their epsilon to the stash type).
 */
public final class Constants {
    private static final int MAX_HOPS = 4;

    private Constants() {
    }

    /** The constant data behind a value: an initializer or a Constant node's output; null otherwise. */
    public static Tensor tensor(Value v) {
        if (v == null) {
            return null;
        }
        if (v.isInitializer()) {
            return v.constant();
        }
        Node p = v.producer();
        if (p == null || !p.is("Constant")) {
            return null;
        }
        for (Attribute a : p.attributes().values()) {
            switch (a.name()) {
                case "value":
                    return a.kind() == Attribute.Kind.TENSOR ? a.tensorValue() : null; // a sparse or unread value
                case "value_float":
                    return ArrayTensor.scalarFloat(a.floatValue());
                case "value_floats":
                    float[] f = (float[]) a.value();
                    return ArrayTensor.ofFloats(new long[] {f.length}, f);
                case "value_int":
                    return ArrayTensor.ofLongs(new long[0], a.intValue());
                case "value_ints":
                    long[] l = a.intsValue();
                    return ArrayTensor.ofLongs(new long[] {l.length}, l);
                default:
                    break;
            }
        }
        return null;
    }

    /** The single number held by a constant (any shape with one element), seen through Cast/Identity. */
    public static OptionalDouble scalar(Value v) {
        Tensor t = tensor(Walk.back(v, Walk.CAST_LIKE, MAX_HOPS));
        return t != null && t.elementCount() == 1 && isNumeric(t) ? OptionalDouble.of(t.toDoubles()[0]) : OptionalDouble.empty();
    }

    /** Integer values (axes) of an INT64/INT32 initializer or Constant node, else empty. */
    public static Optional<long[]> longs(Value v) {
        Tensor t = tensor(v);
        if (t != null) {
            return switch (t.dataType()) {
                case INT64, INT32 -> Optional.of(t.toLongs());
                default -> Optional.empty();
            };
        }
        return Optional.empty(); // tensor() already reads every Constant attribute that holds numbers
    }

    /**
     * Where a gain or bias comes from: the value itself or, seen back through Cast/Identity/Flatten/
     * Reshape/(Un)Squeeze, an initializer, a Constant output, or a graph input of fully static shape
     * (models that take their weights as inputs; an activation input has a batch or sequence dimension).
     * Null when it is none of these, which makes it no parameter of a norm.
     */
    public static Value parameterSource(Value v) {
        Value source = Walk.back(v, Walk.SAME_VALUES, MAX_HOPS);
        if (source == null) {
            return null;
        }
        Node p = source.producer();
        if (source.isInitializer() || (p != null && p.is("Constant"))) {
            return source;
        }
        return p == null && elementCount(source) >= 0 ? source : null;
    }

    /** Number of elements of a constant, or of a value whose shape is fully known; -1 otherwise. */
    public static long elementCount(Value v) {
        Tensor t = tensor(v);
        if (t != null) {
            return t.elementCount();
        }
        TensorType type = v == null ? null : v.type();
        if (type == null || type.shape() == null) {
            return -1;
        }
        long n = 1;
        for (TensorType.Dim d : type.shape()) {
            if (d.value() == null) {
                return -1;
            }
            n *= d.value();
        }
        return n;
    }

    /**
     * The normalised dimension d: the gain's length when it has more than one element (a scalar gain
     * broadcasts and says nothing), else the input's dimensions from {@code axis} on; -1 when unknown.
     */
    public static long normalizedSize(Value gamma, Value input, long axis) {
        long n = gamma == null ? -1 : elementCount(gamma);
        return n > 1 ? n : trailingSize(input, axis);
    }

    /** Product of the dimensions from {@code axis} (negative counts from the end) to the last, or -1. */
    public static long trailingSize(Value v, long axis) {
        TensorType type = v == null ? null : v.type();
        if (type == null || type.shape() == null) {
            return -1;
        }
        int rank = type.shape().size();
        long from = axis < 0 ? axis + rank : axis;
        if (from < 0 || from > rank) {
            return -1;
        }
        long n = 1;
        for (int i = (int) from; i < rank; i++) {
            Long d = type.shape().get(i).value();
            if (d == null) {
                return -1;
            }
            n *= d;
        }
        return n;
    }

    private static boolean isNumeric(Tensor t) {
        return switch (t.dataType()) {
            case FLOAT, FLOAT16, BFLOAT16, DOUBLE, INT64, INT32 -> true;
            default -> false;
        };
    }
}
