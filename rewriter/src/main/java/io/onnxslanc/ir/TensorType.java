package io.onnxslanc.ir;

import java.util.List;
import java.util.Objects;

/**
 * The type of a tensor value: element type and, when known, its shape. A dimension is either
 * a number or a symbolic name; {@code shape == null} means the rank is unknown.
 */
public record TensorType(DataType elemType, List<Dim> shape) {

    public record Dim(Long value, String param) {
        public static Dim of(long v) {
            return new Dim(v, null);
        }

        public static Dim named(String p) {
            return new Dim(null, p);
        }

        public static Dim unknown() {
            return new Dim(null, null);
        }

        @Override
        public String toString() {
            return value != null ? value.toString() : param != null ? param : "?";
        }
    }

    public TensorType {
        Objects.requireNonNull(elemType);
        shape = shape == null ? null : List.copyOf(shape);
    }

    public TensorType withElemType(DataType t) {
        return new TensorType(t, shape);
    }

    public static TensorType of(DataType t, long... dims) {
        return new TensorType(t, java.util.Arrays.stream(dims).mapToObj(Dim::of).toList());
    }
}
