package io.onnxslanc.calibrate.math;

import java.util.function.IntFunction;
import java.util.function.ToIntFunction;

/**
 * This thread's scratch arrays, grown on demand and kept for the next call: the kernels run once per task and per
 * layer, and fresh arrays of hundreds of KB each time cost zeroing, and G1 a marking cycle when they are humongous.
 */
final class Scratch {
    private Scratch() {
    }

    /** The thread's array, replaced by {@code create.apply(size)} when absent or {@code sizeOf} is below size. */
    static <T> T atLeast(ThreadLocal<T> local, int size, ToIntFunction<T> sizeOf, IntFunction<T> create) {
        T a = local.get();
        if (a == null || sizeOf.applyAsInt(a) < size) {
            a = create.apply(size);
            local.set(a);
        }
        return a;
    }

    static float[] floats(ThreadLocal<float[]> local, int size) {
        return atLeast(local, size, a -> a.length, float[]::new);
    }

    static double[] doubles(ThreadLocal<double[]> local, int size) {
        return atLeast(local, size, a -> a.length, double[]::new);
    }
}
