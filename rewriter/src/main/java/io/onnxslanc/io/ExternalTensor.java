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
        if (resident()) {
            return; // already cached: reading it again would only take memory bandwidth from the arithmetic
        }
        readChunks(scratch, c -> { }); // the reading is the point: it fills the page cache
    }

    /** Whether the region is (likely) all in the page cache: mincore on a mapping, which touches no page. */
    private boolean resident() {
        if (length == 0 || length > Integer.MAX_VALUE) {
            return false;
        }
        ByteBuffer mapped = null;
        try {
            mapped = MappedRegions.map(file, offset, length);
            return mapped instanceof java.nio.MappedByteBuffer m && m.isLoaded();
        } catch (RuntimeException e) {
            return false;
        } finally {
            if (mapped != null) {
                MappedRegions.release(mapped);
            }
        }
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
        try (FileChannel in = open()) {
            readChunks(in, 0, length, scratch, sink);
        }
    }

    /** {@link #readChunks(ByteBuffer, ChunkSink)} for bytes [from, to) of the tensor, on an open channel. */
    private void readChunks(FileChannel in, long from, long to, ByteBuffer scratch, ChunkSink sink) throws IOException {
        for (long pos = from; pos < to; ) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), to - pos));
            readAt(in, pos, scratch);
            pos += scratch.limit();
            scratch.flip();
            sink.accept(scratch);
        }
    }

    /** Reads the second half in {@link #readInto} (its own thread: the common pool's can be busy for tens of ms). */
    private static final java.util.concurrent.ExecutorService READER = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "slanc-read");
        t.setDaemon(true);
        return t;
    });

    /** Positional-read buffer of {@link #readInto}, one per thread. */
    private static final ThreadLocal<ByteBuffer> COPY_SCRATCH = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(4 << 20));

    /**
     * Copies the tensor's bytes to {@code dst} (positions 0 to {@link #byteSize()}) by positional reads, a large
     * tensor in two halves on two threads. Faster than the first pass over a fresh mapping when the file is
     * cached: a mapping faults its pages in one by one (measured on the 2-core VM: 46 MB in 21-36 ms mapped
     * against 9-11 ms read and copied), and later passes over heap memory skip the mapping's page-table walks too.
     */
    public void readInto(ByteBuffer dst) throws IOException {
        if (dst.capacity() < length) {
            throw new IllegalArgumentException(length + " bytes do not fit a buffer of " + dst.capacity());
        }
        long half = length < (8 << 20) ? length : length / 2 & ~4095L;
        try (FileChannel in = open()) {
            java.util.concurrent.Future<Void> second = half == length ? null : READER.submit(() -> {
                copyRange(in, half, length, dst);
                return null;
            });
            IOException failure = null;
            try {
                copyRange(in, 0, half, dst);
            } catch (IOException e) {
                failure = e;
            }
            if (second != null) {
                IOException other = awaitUninterruptibly(second); // never leave while the other half writes to dst
                failure = failure != null ? failure : other;
            }
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** Waits for a read on {@link #READER}, keeping an interrupt for later; its failure, or null. */
    private static IOException awaitUninterruptibly(java.util.concurrent.Future<Void> read) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    read.get();
                    return null;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (java.util.concurrent.ExecutionException e) {
                    return e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Bytes [from, to) of the tensor into the same positions of {@code copy}, through this thread's scratch. */
    private void copyRange(FileChannel in, long from, long to, ByteBuffer copy) throws IOException {
        ByteBuffer target = copy.duplicate().position((int) from);
        readChunks(in, from, to, COPY_SCRATCH.get(), target::put);
    }

    /** The data file, opened for {@link #readAt} (positional reads: one channel serves several threads). */
    public FileChannel open() throws IOException {
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    /** Fills {@code dst} (from its position to its limit) with the tensor's bytes from byte {@code from} on. */
    public void readAt(FileChannel in, long from, ByteBuffer dst) throws IOException {
        long start = offset + from - dst.position();
        while (dst.hasRemaining()) {
            if (in.read(dst, start + dst.position()) < 0) {
                throw new IOException(file + ": external data ends at byte " + (start + dst.position())
                        + ", the tensor needs bytes up to " + (offset + length));
            }
        }
    }
}
