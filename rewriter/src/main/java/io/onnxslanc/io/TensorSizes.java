package io.onnxslanc.io;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.proto.Onnx.TensorProto;

/**
 * Checks a tensor's declared shape before anything is allocated or mapped for it, with exact arithmetic: a
 * crafted file can claim dims whose product overflows a long or turns negative, and a wrapped product would
 * pass every later size comparison.
 */
final class TensorSizes {
    private TensorSizes() {
    }

    /** The element count the dims describe; throws {@link IllegalArgumentException} naming the tensor if absurd. */
    static long elementCount(TensorProto t) {
        long count = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + t.getName() + "' has a negative dimension " + d
                        + " in " + t.getDimsList());
            }
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor '" + t.getName() + "' has dims " + t.getDimsList()
                        + " whose product overflows 64 bits");
            }
        }
        return count;
    }

    /** Bytes of the little-endian encoding of {@code count} elements of {@code type}, or -1 past 2^63. */
    static long byteSize(DataType type, long count) {
        try {
            return Math.addExact(Math.multiplyExact(count, (long) type.bits()), 7) / 8;
        } catch (ArithmeticException e) {
            return -1;
        }
    }

    /**
     * The element count of an inline tensor, checked against the data it carries: raw_data must be exactly
     * the dims' size, and the typed field (float_data, int64_data, ...) must hold one value per element.
     */
    static void checkInline(TensorProto t, DataType type) {
        long count = elementCount(t);
        if (type == DataType.STRING) {
            if (t.getStringDataCount() != count) {
                throw mismatch(t, count, t.getStringDataCount() + " strings");
            }
            return;
        }
        if (t.hasRawData()) {
            long expected = byteSize(type, count);
            if (expected != t.getRawData().size()) {
                throw mismatch(t, count, t.getRawData().size() + " bytes of raw_data (" + (expected < 0 ? "more than 2^63" : expected)
                        + " needed)");
            }
            return;
        }
        long typed = switch (type) {
            case FLOAT -> t.getFloatDataCount();
            case COMPLEX64 -> t.getFloatDataCount() / 2;
            case DOUBLE -> t.getDoubleDataCount();
            case COMPLEX128 -> t.getDoubleDataCount() / 2;
            case INT64 -> t.getInt64DataCount();
            case UINT32, UINT64 -> t.getUint64DataCount();
            case INT32, INT16, UINT16, INT8, UINT8, BOOL, FLOAT16, BFLOAT16 -> t.getInt32DataCount();
            default -> -1; // packed sub-byte and float8 layouts: checked when decoded
        };
        if (typed >= 0 && typed != count) {
            throw mismatch(t, count, typed + " values");
        }
    }

    private static IllegalArgumentException mismatch(TensorProto t, long count, String holds) {
        return new IllegalArgumentException("tensor '" + t.getName() + "' has dims " + t.getDimsList() + " (" + count
                + " elements) but holds " + holds);
    }
}
