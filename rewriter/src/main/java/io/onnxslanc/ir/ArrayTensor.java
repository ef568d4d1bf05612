package io.onnxslanc.ir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** A tensor created in code (scales, epsilons, converted constants), held on the heap. */
public final class ArrayTensor implements Tensor {
    private final DataType type;
    private final long[] dims;
    private final ByteBuffer data;

    public ArrayTensor(DataType type, long[] dims, ByteBuffer littleEndianData) {
        this.type = type;
        this.dims = dims.clone();
        this.data = littleEndianData.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.data.position(0);
        long expected = type.byteSize(elementCount());
        if (type != DataType.STRING && data.limit() != expected) {
            throw new IllegalArgumentException("tensor of " + type + Arrays.toString(dims) + " needs " + expected
                    + " bytes, got " + data.limit());
        }
    }

    public static ArrayTensor ofFloats(long[] dims, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new ArrayTensor(DataType.FLOAT, dims, b);
    }

    /** A tensor of a floating-point {@code type} ({@link FloatBits#canEncode}) holding {@code values} rounded to nearest even. */
    public static ArrayTensor ofReals(DataType type, long[] dims, double... values) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(type.byteSize(values.length))).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            FloatBits.put(b, type, v);
        }
        b.flip();
        return new ArrayTensor(type, dims, b);
    }

    public static ArrayTensor scalarFloat(float v) {
        return ofFloats(new long[0], v);
    }

    public static ArrayTensor ofLongs(long[] dims, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new ArrayTensor(DataType.INT64, dims, b);
    }

    @Override
    public DataType dataType() {
        return type;
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public long byteSize() {
        return data.limit();
    }

    @Override
    public ByteBuffer read() {
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }
}
