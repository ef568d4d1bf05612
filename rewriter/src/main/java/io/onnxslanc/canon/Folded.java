package io.onnxslanc.canon;

import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A small constant held on the heap while folding: integer types as longs (shape arithmetic must stay exact up to
 * INT64_MAX, the usual "to the end" Slice bound), everything else as doubles.
 */
record Folded(DataType type, long[] dims, double[] reals, long[] ints) {

    static boolean isInteger(DataType t) {
        return switch (t) {
            case INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32, UINT64, BOOL -> true;
            default -> false;
        };
    }

    static boolean isSupported(DataType t) {
        return isInteger(t) || t == DataType.FLOAT || t == DataType.DOUBLE || t == DataType.FLOAT16
                || t == DataType.BFLOAT16;
    }

    static Folded ofInts(DataType type, long[] dims, long[] values) {
        return new Folded(type, dims, null, values);
    }

    static Folded ofReals(DataType type, long[] dims, double[] values) {
        return new Folded(type, dims, values, null);
    }

    static Folded of(Tensor t) {
        DataType type = t.dataType();
        if (!isSupported(type)) {
            return null;
        }
        if (!isInteger(type)) {
            return ofReals(type, t.dims(), t.toDoubles());
        }
        ByteBuffer b = t.read().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.toIntExact(t.elementCount());
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (type) {
                case INT64, UINT64 -> b.getLong(i * 8);
                case INT32 -> b.getInt(i * 4);
                case UINT32 -> b.getInt(i * 4) & 0xFFFFFFFFL;
                case INT16 -> b.getShort(i * 2);
                case UINT16 -> b.getShort(i * 2) & 0xFFFF;
                case INT8 -> b.get(i);
                default -> b.get(i) & 0xFF; // UINT8, BOOL
            };
        }
        return ofInts(type, t.dims(), out);
    }

    int size() {
        return reals != null ? reals.length : ints.length;
    }

    boolean integer() {
        return ints != null;
    }

    double real(int i) {
        return reals != null ? reals[i] : ints[i];
    }

    long integer(int i) {
        return ints != null ? ints[i] : (long) reals[i];
    }

    long[] longs() {
        long[] out = new long[size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = integer(i);
        }
        return out;
    }

    /** The same elements in a new shape. */
    Folded reshaped(long[] newDims) {
        return new Folded(type, newDims, reals, ints);
    }

    /** Element {@code i} of every element, in a new order (gathers, slices, concatenations build index lists). */
    Folded pick(long[] newDims, int[] sourceIndex) {
        if (ints != null) {
            long[] out = new long[sourceIndex.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = ints[sourceIndex[i]];
            }
            return ofInts(type, newDims, out);
        }
        double[] out = new double[sourceIndex.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = reals[sourceIndex[i]];
        }
        return ofReals(type, newDims, out);
    }

    /** Values converted to {@code to}, rounded as that type stores them. */
    Folded castTo(DataType to) {
        int n = size();
        if (isInteger(to)) {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = to == DataType.BOOL ? (real(i) != 0 ? 1 : 0) : integer(i);
            }
            return ofInts(to, dims, out);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = round(to, real(i));
        }
        return ofReals(to, dims, out);
    }

    static double round(DataType t, double v) {
        return FloatBits.round(t, v);
    }

    /** The data as an ONNX tensor of its type. */
    Tensor toTensor() {
        int n = size();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(type.byteSize(n))).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (type) {
                case FLOAT, DOUBLE, FLOAT16, BFLOAT16 -> FloatBits.put(b, type, reals[i]);
                case INT64, UINT64 -> b.putLong(ints[i]);
                case INT32, UINT32 -> b.putInt((int) ints[i]);
                case INT16, UINT16 -> b.putShort((short) ints[i]);
                default -> b.put((byte) ints[i]);
            }
        }
        b.flip();
        return new ArrayTensor(type, dims, b);
    }

    @Override
    public String toString() {
        return type + Arrays.toString(dims) + (ints != null ? Arrays.toString(ints) : Arrays.toString(reals));
    }
}
