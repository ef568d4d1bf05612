package io.onnxslanc.convert;

import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;
import java.util.Optional;

/**
 * The float16 / bfloat16 version of a float32 tensor, computed only when someone asks: {@link #writeTo}
 * streams the source through the conversion kernel a few MiB at a time (an external weight is read
 * from its file in chunks, never mapped whole), {@link #read} converts on demand for small tensors.
 * The clamp counts of the first complete conversion are kept for the report.
 */
public final class ConvertedTensor implements Tensor {
    /** Float32 bytes converted per step. */
    static final int CHUNK_BYTES = 4 << 20;

    private static final ThreadLocal<ByteBuffer[]> SCRATCH = ThreadLocal.withInitial(() -> new ByteBuffer[] {
        ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN),
        ByteBuffer.allocateDirect(CHUNK_BYTES / 2).order(ByteOrder.LITTLE_ENDIAN)});

    private final Tensor source;
    private final DataType target;
    private final Fp16Clamp clamp;
    private ClampStats stats;

    public ConvertedTensor(Tensor source, DataType target, Fp16Clamp clamp) {
        if (source.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("only float32 tensors are converted, not " + source.dataType());
        }
        if (target != DataType.FLOAT16 && target != DataType.BFLOAT16) {
            throw new IllegalArgumentException("conversion target must be FLOAT16 or BFLOAT16, not " + target);
        }
        this.source = source;
        this.target = target;
        this.clamp = clamp;
    }

    @Override
    public java.util.Optional<java.nio.file.Path> backingFile() {
        return source.backingFile();
    }

    @Override
    public Optional<String> contentKey() {
        return source.contentKey().map(k -> target + " of " + k + " clamped to " + clamp);
    }

    /** Takes the clamp counts of a conversion of the same bytes done elsewhere (its output was reused). */
    synchronized void adoptStats(ClampStats s) {
        if (stats == null) {
            stats = s;
        }
    }

    /** The float32 tensor this one is computed from. */
    public Tensor source() {
        return source;
    }

    /** Clamp counts of the conversion, once it has run completely (write or read). */
    public synchronized Optional<ClampStats> stats() {
        return Optional.ofNullable(stats);
    }

    @Override
    public DataType dataType() {
        return target;
    }

    @Override
    public long[] dims() {
        return source.dims();
    }

    @Override
    public long byteSize() {
        return source.elementCount() * 2;
    }

    @Override
    public ByteBuffer read() {
        long size = byteSize();
        if (size > Integer.MAX_VALUE) {
            throw new IllegalStateException("a " + target + " tensor of " + size + " bytes " + Arrays.toString(dims())
                    + " cannot be viewed as one buffer; stream it with writeTo");
        }
        ByteBuffer src = source.read();
        ByteBuffer dst = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        ClampStats s = convert(src.duplicate(), dst);
        source.release(src);
        record(s);
        dst.flip();
        return dst.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void writeTo(WritableByteChannel out) throws IOException {
        if (source instanceof ExternalTensor et) {
            streamFromFile(et, out);
            return;
        }
        ConvertingChannel ch = new ConvertingChannel(this::convert, out, SCRATCH.get()[1]);
        source.writeTo(ch);
        ch.close();
        if (ch.bytesIn() != source.byteSize()) {
            throw new IOException("float32 source of " + source.byteSize() + " bytes streamed " + ch.bytesIn());
        }
        record(ch.stats());
    }

    /** Runs the conversion once without keeping the output, so that {@link #stats()} is known. */
    ClampStats countClamps() {
        try {
            writeTo(new DiscardingChannel());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return stats().orElseThrow();
    }

    private void streamFromFile(ExternalTensor et, WritableByteChannel out) throws IOException {
        if (et.byteSize() > CHUNK_BYTES && ConversionPipeline.THREADS > 1) {
            record(ConversionPipeline.stream(et, CHUNK_BYTES, this::convert, out));
            return;
        }
        ByteBuffer half = SCRATCH.get()[1];
        ClampStats[] total = {ClampStats.EMPTY};
        et.readChunks(SCRATCH.get()[0], floats -> {
            half.clear();
            total[0] = total[0].plus(convert(floats, half));
            half.flip();
            while (half.hasRemaining()) {
                out.write(half);
            }
        });
        record(total[0]);
    }

    private ClampStats convert(ByteBuffer floats, ByteBuffer dst) {
        if (target == DataType.FLOAT16) {
            return TensorConverter.convertFloatToHalf(floats, dst, clamp);
        }
        long n = floats.remaining() / 4;
        TensorConverter.convertFloatToBFloat16(floats, dst);
        return new ClampStats(n, 0, 0, 0, 0);
    }

    private synchronized void record(ClampStats s) {
        if (stats == null) {
            stats = s;
        }
    }

    /** A sink for counting passes. */
    private static final class DiscardingChannel implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            src.position(src.limit());
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
