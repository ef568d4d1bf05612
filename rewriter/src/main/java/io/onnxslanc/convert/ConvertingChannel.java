package io.onnxslanc.convert;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.function.BiFunction;

/**
 * A channel that takes little-endian float32 bytes in writes of any size (a value may be split
 * between two writes) and passes their 16-bit conversion on to {@code out}, chunk by chunk,
 * through one reusable output buffer.
 */
final class ConvertingChannel implements WritableByteChannel {
    private final BiFunction<ByteBuffer, ByteBuffer, ClampStats> kernel;
    private final WritableByteChannel out;
    private final ByteBuffer halves;
    private final int chunkBytes;
    private final ByteBuffer carry = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    private ClampStats stats = ClampStats.EMPTY;
    private long bytesIn;
    private boolean open = true;

    /** {@code halves} is the scratch output buffer; each step converts at most twice its capacity. */
    ConvertingChannel(BiFunction<ByteBuffer, ByteBuffer, ClampStats> kernel, WritableByteChannel out, ByteBuffer halves) {
        this.kernel = kernel;
        this.out = out;
        this.halves = halves;
        this.chunkBytes = (halves.capacity() / 2) * 4;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (!open) {
            throw new IOException("converting channel is closed");
        }
        int n = src.remaining();
        while (src.hasRemaining()) {
            if (carry.position() > 0 || src.remaining() < 4) {
                while (carry.hasRemaining() && src.hasRemaining()) {
                    carry.put(src.get());
                }
                if (!carry.hasRemaining()) {
                    carry.flip();
                    emit(carry);
                    carry.clear();
                }
                continue;
            }
            int take = Math.min(src.remaining() & ~3, chunkBytes);
            ByteBuffer chunk = src.slice();
            chunk.limit(take);
            emit(chunk);
            src.position(src.position() + take);
        }
        bytesIn += n;
        return n;
    }

    private void emit(ByteBuffer floats) throws IOException {
        halves.clear();
        stats = stats.plus(kernel.apply(floats, halves));
        halves.flip();
        while (halves.hasRemaining()) {
            out.write(halves);
        }
    }

    long bytesIn() {
        return bytesIn;
    }

    ClampStats stats() {
        return stats;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /** Fails if the float32 stream ended inside a value. Does not close {@code out}. */
    @Override
    public void close() throws IOException {
        open = false;
        if (carry.position() != 0) {
            throw new IOException("float32 stream ended " + carry.position() + " bytes into a value");
        }
    }
}
