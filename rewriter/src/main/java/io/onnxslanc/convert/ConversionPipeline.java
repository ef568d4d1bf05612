package io.onnxslanc.convert;

import io.onnxslanc.io.ExternalTensor;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Converts a large external tensor chunk by chunk on worker threads while the calling thread writes the chunks
 * converted before, in order: reading and converting (CPU) overlap writing (the kernel's page-cache copy), and on
 * several cores the chunks convert in parallel. At most {@link #AHEAD} chunks are in flight, in buffers reused
 * across tensors, so memory stays a few MiB whatever the tensor's size. The bytes written and the clamp counts (a
 * sum in chunk order) are those of the sequential conversion.
 */
final class ConversionPipeline {

    /** Worker threads: up to 4, fewer on small machines (one worker would only move the work to another thread). */
    static final int THREADS = Math.min(4, Runtime.getRuntime().availableProcessors());
    /** Chunks converted ahead of the one being written. */
    static final int AHEAD = THREADS + 1;

    private static final ExecutorService WORKERS = Executors.newFixedThreadPool(THREADS, r -> {
        Thread t = new Thread(r, "slanc-fp16-convert");
        t.setDaemon(true);
        return t;
    });

    /** Float32 chunk and converted chunk, reused. */
    private record Buffers(ByteBuffer floats, ByteBuffer converted) {
    }

    private static final ConcurrentLinkedQueue<Buffers> FREE = new ConcurrentLinkedQueue<>();

    /** The kernel: converts the floats' remaining bytes into {@code dst} from its position. */
    interface Kernel {
        ClampStats convert(ByteBuffer floats, ByteBuffer dst);
    }

    private record Converted(Buffers buffers, ClampStats stats) {
    }

    private ConversionPipeline() {
    }

    /** Streams {@code source} converted by {@code kernel} into {@code out}; returns the summed clamp counts. */
    static ClampStats stream(ExternalTensor source, int chunkBytes, Kernel kernel, WritableByteChannel out) throws IOException {
        long length = source.byteSize();
        int chunks = (int) ((length + chunkBytes - 1) / chunkBytes);
        ArrayDeque<Future<Converted>> inFlight = new ArrayDeque<>();
        ClampStats total = ClampStats.EMPTY;
        try (FileChannel in = source.open()) {
            int next = 0;
            while (next < chunks && inFlight.size() < AHEAD) {
                inFlight.add(submit(source, in, next++, chunkBytes, kernel));
            }
            while (!inFlight.isEmpty()) {
                Converted c = await(inFlight.poll());
                try {
                    total = total.plus(c.stats());
                    ByteBuffer bytes = c.buffers().converted();
                    while (bytes.hasRemaining()) {
                        out.write(bytes);
                    }
                } finally {
                    FREE.add(c.buffers());
                }
                if (next < chunks) {
                    inFlight.add(submit(source, in, next++, chunkBytes, kernel));
                }
            }
        } finally {
            for (Future<Converted> f : inFlight) { // a failure: let the rest finish so their buffers come back
                f.cancel(false);
                try {
                    FREE.add(f.get().buffers());
                } catch (Exception ignored) {
                    // cancelled or failed: its buffers are dropped
                }
            }
        }
        return total;
    }

    private static Future<Converted> submit(ExternalTensor source, FileChannel in, int chunk, int chunkBytes, Kernel kernel) {
        long from = (long) chunk * chunkBytes;
        int bytes = (int) Math.min(chunkBytes, source.byteSize() - from);
        return WORKERS.submit(() -> {
            Buffers b = FREE.poll();
            if (b == null || b.floats().capacity() < bytes) {
                b = new Buffers(ByteBuffer.allocateDirect(chunkBytes).order(ByteOrder.LITTLE_ENDIAN),
                        ByteBuffer.allocateDirect(chunkBytes / 2).order(ByteOrder.LITTLE_ENDIAN));
            }
            try {
                ByteBuffer floats = b.floats().clear().limit(bytes);
                source.readAt(in, from, floats);
                floats.flip();
                ByteBuffer converted = b.converted().clear();
                ClampStats stats = kernel.convert(floats, converted);
                converted.flip();
                return new Converted(b, stats);
            } catch (IOException | RuntimeException | Error e) {
                FREE.add(b);
                throw e;
            }
        });
    }

    /** The chunk's result; a failure surfaces as it was thrown, an interrupt as an {@link InterruptedIOException}. */
    private static Converted await(Future<Converted> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while converting");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof UncheckedIOException u) {
                throw u.getCause();
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException(cause);
        }
    }
}
