package io.onnxslanc.io;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Maps file regions read-only, one region per tensor (a single mapping cannot exceed 2 GiB),
 * and unmaps them on request so that streaming over a 27 GB model keeps the resident set small.
 */
final class MappedRegions {
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method cleaner = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            cleaner = c.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // without it, mappings are released by the garbage collector instead
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = cleaner;
    }

    private MappedRegions() {
    }

    static ByteBuffer map(Path file, long offset, long length) {
        if (length > Integer.MAX_VALUE) {
            throw new ModelFormatException(file, "a single tensor of " + length + " bytes exceeds 2 GiB");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, offset, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot map bytes " + offset + ".." + (offset + length) + ": " + e.getMessage(), e);
        }
    }

    /** Unmaps a buffer returned by {@link #map} now; the buffer must not be used afterwards. */
    static void release(ByteBuffer buffer) {
        if (buffer instanceof MappedByteBuffer && buffer.isDirect() && INVOKE_CLEANER != null) {
            try {
                INVOKE_CLEANER.invoke(UNSAFE, buffer);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // a duplicate or slice cannot be cleaned directly; the GC will do it
            }
        }
    }
}
