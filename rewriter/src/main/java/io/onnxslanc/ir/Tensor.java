package io.onnxslanc.ir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * Constant tensor data. Implementations are lazy: external weights stay in their file until
 * {@link #read()} maps them, and {@link #writeTo} streams them without a whole-model buffer.
 */
public interface Tensor {
    DataType dataType();

    long[] dims();

    /** Size of the little-endian raw encoding in bytes. */
    long byteSize();

    /**
     * The raw little-endian bytes (read-only view; position 0). A tensor over 2 GiB cannot be
     * viewed as one buffer and throws; use {@link #writeTo} for those.
     */
    ByteBuffer read();

    /**
     * Gives back a buffer this tensor's {@link #read} returned, now: a memory-mapped region is unmapped, so streaming
     * over a large model keeps the resident set small. The buffer must not be used afterwards. Tensors held on the
     * heap leave it to the garbage collector.
     */
    default void release(ByteBuffer buffer) {
    }

    /**
     * Reads the stored bytes once, in order, through {@code scratch} and discards them, so that a later {@link #read}
     * finds them in the page cache. Tensors held on the heap do nothing.
     */
    default void prefetch(ByteBuffer scratch) throws IOException {
    }

    /** Streams the raw little-endian bytes to {@code out}. */
    default void writeTo(WritableByteChannel out) throws IOException {
        ByteBuffer b = read().duplicate();
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    /** The file this tensor's bytes are read from, if any (a writer must never overwrite it). */
    default java.util.Optional<java.nio.file.Path> backingFile() {
        return java.util.Optional.empty();
    }

    /**
     * A description that identifies these bytes without reading them (source file and region, conversion applied),
     * when the implementation can give one. Equal keys mean equal bytes; a writer may then reuse bytes it already
     * wrote for another tensor with the same key (see {@code io.DataSpool}).
     */
    default java.util.Optional<String> contentKey() {
        return java.util.Optional.empty();
    }

    default long elementCount() {
        long n = 1;
        for (long d : dims()) {
            n *= d;
        }
        return n;
    }

    /** Convenience for small float tensors (gains, epsilons): decodes FLOAT, FLOAT16, BFLOAT16 and DOUBLE. */
    default double[] toDoubles() {
        ByteBuffer b = read().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.toIntExact(elementCount());
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (dataType()) {
                case FLOAT -> b.getFloat(i * 4);
                case DOUBLE -> b.getDouble(i * 8);
                case FLOAT16 -> FloatBits.halfToFloat(b.getShort(i * 2));
                case BFLOAT16 -> FloatBits.bfloat16ToFloat(b.getShort(i * 2));
                case INT64 -> b.getLong(i * 8);
                case INT32 -> b.getInt(i * 4);
                default -> throw new IllegalStateException("not a numeric tensor: " + dataType());
            };
        }
        return out;
    }

    /** Integer values of a small INT64/INT32 tensor (axes, shapes). */
    default long[] toLongs() {
        ByteBuffer b = read().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.toIntExact(elementCount());
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (dataType()) {
                case INT64 -> b.getLong(i * 8);
                case INT32 -> b.getInt(i * 4);
                default -> throw new IllegalStateException("not an integer tensor: " + dataType());
            };
        }
        return out;
    }
}
