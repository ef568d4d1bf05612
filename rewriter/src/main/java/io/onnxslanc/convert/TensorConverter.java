package io.onnxslanc.convert;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;

/**
 * Bulk conversion of little-endian tensor bytes (ONNX raw_data and external data are little-endian)
 * between float32 and FP16 / BF16. Each method converts everything remaining in the source, writes
 * it at the destination's position and advances both positions; the buffers' own byte order is
 * neither used nor changed. Heap, direct and mapped buffers all work.
 *
 * <p>Values go through small int[] / short[] chunks filled and drained with bulk buffer copies:
 * the per-element loop then runs on plain arrays, which C2 compiles best.
 */
public final class TensorConverter {

    /** Elements per chunk: 8 KiB of float32 plus 4 KiB of halves stay in the L1 cache. */
    private static final int CHUNK = 2048;

    private TensorConverter() {
    }

    /**
     * Float32 to FP16 with clamping (see {@link Fp16Clamp}), round to nearest even.
     *
     * @return counts of clamped and non-finite values
     */
    public static ClampStats convertFloatToHalf(ByteBuffer srcLittleEndianFloats, ByteBuffer dstLittleEndianHalves,
                                                Fp16Clamp clamp) {
        int n = elementCount(srcLittleEndianFloats, 4, dstLittleEndianHalves, 2);
        IntBuffer src = littleEndian(srcLittleEndianFloats).asIntBuffer();
        ShortBuffer dst = littleEndian(dstLittleEndianHalves).asShortBuffer();
        // Magnitudes in [low, high] need no clamp and are finite; everything else takes the slow path.
        int low = clamp.minPositiveBits();
        int high = clamp.maxFiniteBits();
        long clampedHigh = 0;
        long clampedLow = 0;
        long nan = 0;
        long infinite = 0;
        int[] floats = new int[Math.min(CHUNK, n)];
        short[] halves = new short[floats.length];
        for (int done = 0; done < n; ) {
            int count = Math.min(floats.length, n - done);
            src.get(floats, 0, count);
            for (int i = 0; i < count; i++) {
                int bits = floats[i];
                int abs = bits & 0x7FFFFFFF;
                if (abs < low || abs > high) {
                    int sign = bits & 0x80000000;
                    if (abs > 0x7F800000) {
                        nan++;
                    } else if (abs == 0x7F800000) {
                        infinite++;
                    } else if (abs > high) {
                        clampedHigh++;
                        bits = sign | high;
                    } else if (abs != 0) {
                        clampedLow++;
                        bits = sign | low;
                    }
                }
                halves[i] = HalfFloats.floatBitsToHalf(bits);
            }
            dst.put(halves, 0, count);
            done += count;
        }
        advance(srcLittleEndianFloats, 4L * n, dstLittleEndianHalves, 2L * n);
        return new ClampStats(n, clampedHigh, clampedLow, nan, infinite);
    }

    /** Float32 to BF16, round to nearest even, no clamping (BF16 has the float32 exponent range). */
    public static void convertFloatToBFloat16(ByteBuffer srcLittleEndianFloats, ByteBuffer dstLittleEndianBf16) {
        int n = elementCount(srcLittleEndianFloats, 4, dstLittleEndianBf16, 2);
        IntBuffer src = littleEndian(srcLittleEndianFloats).asIntBuffer();
        ShortBuffer dst = littleEndian(dstLittleEndianBf16).asShortBuffer();
        int[] floats = new int[Math.min(CHUNK, n)];
        short[] halves = new short[floats.length];
        for (int done = 0; done < n; ) {
            int count = Math.min(floats.length, n - done);
            src.get(floats, 0, count);
            for (int i = 0; i < count; i++) {
                halves[i] = HalfFloats.floatBitsToBFloat16(floats[i]);
            }
            dst.put(halves, 0, count);
            done += count;
        }
        advance(srcLittleEndianFloats, 4L * n, dstLittleEndianBf16, 2L * n);
    }

    /** FP16 to float32 (exact). */
    public static void convertHalfToFloat(ByteBuffer srcLittleEndianHalves, ByteBuffer dstLittleEndianFloats) {
        int n = elementCount(srcLittleEndianHalves, 2, dstLittleEndianFloats, 4);
        ShortBuffer src = littleEndian(srcLittleEndianHalves).asShortBuffer();
        IntBuffer dst = littleEndian(dstLittleEndianFloats).asIntBuffer();
        short[] halves = new short[Math.min(CHUNK, n)];
        int[] floats = new int[halves.length];
        for (int done = 0; done < n; ) {
            int count = Math.min(halves.length, n - done);
            src.get(halves, 0, count);
            for (int i = 0; i < count; i++) {
                floats[i] = HalfFloats.halfToFloatBits(halves[i]);
            }
            dst.put(floats, 0, count);
            done += count;
        }
        advance(srcLittleEndianHalves, 2L * n, dstLittleEndianFloats, 4L * n);
    }

    /** BF16 to float32 (exact). */
    public static void convertBFloat16ToFloat(ByteBuffer srcLittleEndianBf16, ByteBuffer dstLittleEndianFloats) {
        int n = elementCount(srcLittleEndianBf16, 2, dstLittleEndianFloats, 4);
        ShortBuffer src = littleEndian(srcLittleEndianBf16).asShortBuffer();
        IntBuffer dst = littleEndian(dstLittleEndianFloats).asIntBuffer();
        short[] halves = new short[Math.min(CHUNK, n)];
        int[] floats = new int[halves.length];
        for (int done = 0; done < n; ) {
            int count = Math.min(halves.length, n - done);
            src.get(halves, 0, count);
            for (int i = 0; i < count; i++) {
                floats[i] = halves[i] << 16;
            }
            dst.put(floats, 0, count);
            done += count;
        }
        advance(srcLittleEndianBf16, 2L * n, dstLittleEndianFloats, 4L * n);
    }

    private static int elementCount(ByteBuffer src, int srcElementBytes, ByteBuffer dst, int dstElementBytes) {
        if (src.remaining() % srcElementBytes != 0) {
            throw new IllegalArgumentException("source has " + src.remaining()
                    + " bytes remaining, not a multiple of the element size " + srcElementBytes);
        }
        int n = src.remaining() / srcElementBytes;
        if ((long) n * dstElementBytes > dst.remaining()) {
            throw new IllegalArgumentException("destination has " + dst.remaining() + " bytes remaining, "
                    + (long) n * dstElementBytes + " needed for " + n + " elements");
        }
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("destination buffer is read-only");
        }
        return n;
    }

    private static ByteBuffer littleEndian(ByteBuffer buffer) {
        return buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void advance(ByteBuffer src, long srcBytes, ByteBuffer dst, long dstBytes) {
        src.position(src.position() + (int) srcBytes);
        dst.position(dst.position() + (int) dstBytes);
    }
}
