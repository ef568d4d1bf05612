package io.onnxslanc.samples.bench;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * A synthetic float32 tensor of any size whose bytes are generated on the fly from a seed
 * (a 64-bit mixing function of the element index), so multi-GB models can be written and
 * verified without ever holding their weights.
 */
public final class PatternTensor implements Tensor {
    private static final int CHUNK = 1 << 22;
    private final long[] dims;
    private final long seed;

    public PatternTensor(long seed, long... dims) {
        this.seed = seed;
        this.dims = dims.clone();
    }

    /** The value of element {@code i}: small, finite, deterministic. */
    public float valueAt(long i) {
        long z = (i + seed * 0x9E3779B97F4A7C15L) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 31)) * 0x94D049BB133111EBL;
        z ^= z >>> 29;
        return (int) (z >>> 40) * 0x1p-24f - 0.5f;
    }

    @Override
    public DataType dataType() {
        return DataType.FLOAT;
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public long byteSize() {
        return elementCount() * 4;
    }

    @Override
    public ByteBuffer read() {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < elementCount(); i++) {
            b.putFloat(valueAt(i));
        }
        return b.flip();
    }

    @Override
    public void writeTo(WritableByteChannel out) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        long n = elementCount();
        for (long i = 0; i < n; ) {
            chunk.clear();
            while (i < n && chunk.remaining() >= 4) {
                chunk.putFloat(valueAt(i++));
            }
            chunk.flip();
            while (chunk.hasRemaining()) {
                out.write(chunk);
            }
        }
    }
}
