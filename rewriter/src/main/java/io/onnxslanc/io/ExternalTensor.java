package io.onnxslanc.io;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A weight stored in an external data file; nothing is read until it is used. */
public final class ExternalTensor implements Tensor {
    private final Path file;
    private final long offset;
    private final long length;
    private final DataType type;
    private final long[] dims;

    public ExternalTensor(Path file, long offset, long length, DataType type, long[] dims) {
        this.file = file;
        this.offset = offset;
        this.length = length;
        this.type = type;
        this.dims = dims.clone();
    }

    public Path file() {
        return file;
    }

    @Override
    public java.util.Optional<Path> backingFile() {
        return java.util.Optional.of(file);
    }

    /** File, region and type: the bytes are those of the file, read-only while the model is processed. */
    @Override
    public java.util.Optional<String> contentKey() {
        return java.util.Optional.of("external " + type + " " + java.util.Arrays.toString(dims) + " "
                + file.toAbsolutePath().normalize() + "@" + offset + "+" + length);
    }

    public long offset() {
        return offset;
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
        return length;
    }

    /** Maps the region; callers streaming many tensors should {@link #release} it after use. */
    @Override
    public ByteBuffer read() {
        return MappedRegions.map(file, offset, length);
    }

    @Override
    public void release(ByteBuffer buffer) {
        MappedRegions.release(buffer);
    }

    @Override
    public void prefetch(ByteBuffer scratch) throws IOException {
        readChunks(scratch, c -> { }); // the reading is the point: it fills the page cache
    }

    /** Copies file to file without mapping or heap buffers (the kernel moves the bytes). */
    @Override
    public void writeTo(WritableByteChannel out) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long done = 0;
            while (done < length) {
                long n = in.transferTo(offset + done, length - done, out);
                if (n <= 0) {
                    throw new IOException(file + ": external data ended at byte " + (offset + done));
                }
                done += n;
            }
        }
    }

    /** Receives the bytes of {@link #readChunks} one filled chunk at a time. */
    @FunctionalInterface
    public interface ChunkSink {
        void accept(ByteBuffer chunk) throws IOException;
    }

    /**
     * Reads the bytes in order with positional reads (no mapping) through {@code scratch}, handing each filled
     * chunk, flipped, to {@code sink}; the whole scratch buffer is one chunk except at the end.
     */
    public void readChunks(ByteBuffer scratch, ChunkSink sink) throws IOException {
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            for (long pos = offset, end = offset + length; pos < end; ) {
                scratch.clear().limit((int) Math.min(scratch.capacity(), end - pos));
                while (scratch.hasRemaining()) {
                    if (in.read(scratch, pos + scratch.position()) < 0) {
                        throw new IOException(file + ": external data ends at byte " + (pos + scratch.position())
                                + ", the tensor needs bytes up to " + end);
                    }
                }
                pos += scratch.limit();
                scratch.flip();
                sink.accept(scratch);
            }
        }
    }
}
