package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.io.ExternalTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Heap copies of external float weights for the calibration, read by positional reads instead of mapped. The
 * kernels pass over a weight up to 13 times; a mapped region pays page faults on the first pass (one by one on the
 * 2-core VM: 46 MB in 21-36 ms, against 9-11 ms read and copied) and page-table walks on every pass.
 *
 * <p>Memory: all buffers together, in use or kept for reuse, stay within a third of the maximum heap and at most
 * 256 MiB (170 MiB under -Xmx512m: a 1.1B block's three MLP weights and an attention block's; of a 7B block's
 * 180 MB MLP weights one fits, the others are mapped), so the peak memory of a large model grows by 256 MiB at most.
 * Buffers are reused, because allocating a fresh 46 MB array costs as much as filling it (the JVM zeroes it), until
 * {@link #releaseAll}. Reading the next block's weights ahead on a third thread was tried and measured no faster:
 * the two calibration threads already use the memory bandwidth of the 2-core machine.
 */
public final class HeapCopies {
    private static final long BUDGET = Math.min(Runtime.getRuntime().maxMemory() / 3, 256L << 20);
    /** Guards everything below. */
    private static final Object LOCK = new Object();
    private static final List<ByteBuffer> FREE = new ArrayList<>();
    private static long capacity;

    private HeapCopies() {
    }

    /**
     * A buffer holding the tensor's bytes from position 0 (its capacity may be larger); null when the budget is
     * spent or the read failed (the caller maps the tensor, which reports a failure in its own words). Give it back
     * with {@link #giveBack}.
     */
    static ByteBuffer take(ExternalTensor tensor) {
        ByteBuffer buffer = reserve(tensor.byteSize());
        return buffer == null ? null : read(tensor, buffer);
    }

    /** Returns a buffer from {@link #take} for reuse. */
    static void giveBack(ByteBuffer buffer) {
        synchronized (LOCK) {
            FREE.add(buffer);
        }
    }

    /** Drops every buffer kept for reuse (the calibration calls it when done: the heap is the writer's then). */
    public static void releaseAll() {
        synchronized (LOCK) {
            FREE.clear();
            capacity = 0;
        }
    }

    /** Fills the buffer, or gives it back and returns null when the read fails. */
    private static ByteBuffer read(ExternalTensor tensor, ByteBuffer buffer) {
        try {
            tensor.readInto(buffer);
            return buffer;
        } catch (IOException | RuntimeException e) {
            giveBack(buffer);
            return null;
        }
    }

    /** The smallest free buffer of at least {@code bytes}, or a new one within the budget, or null. */
    private static ByteBuffer reserve(long bytes) {
        synchronized (LOCK) {
            ByteBuffer best = null;
            for (ByteBuffer b : FREE) {
                if (b.capacity() >= bytes && (best == null || b.capacity() < best.capacity())) {
                    best = b;
                }
            }
            if (best != null) {
                FREE.remove(best);
                return best;
            }
            if (bytes > Integer.MAX_VALUE || bytes > BUDGET) {
                return null;
            }
            while (capacity + bytes > BUDGET && !FREE.isEmpty()) {
                capacity -= FREE.remove(FREE.size() - 1).capacity(); // free buffers too small: dropped for room
            }
            if (capacity + bytes > BUDGET) {
                return null;
            }
            capacity += bytes;
        }
        return ByteBuffer.allocate((int) bytes);
    }
}
