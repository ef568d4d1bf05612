package io.onnxslanc.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.ReferenceRounding;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bulk conversion and clamping. Expected halves come from {@link ReferenceRounding} applied to values
 * clamped by a double-arithmetic re-statement of the clamp rule; expected bytes are written by hand
 * in little-endian order.
 */
class TensorConverterTest {

    private static final ReferenceRounding FP16 = ReferenceRounding.FP16;

    /** The clamp rule, restated: returns the value to round, and which counter it bumps. */
    private static float referenceClamp(float x, double max, double min, long[] counts) {
        double d = Math.abs((double) x);
        float sign = Math.copySign(1f, x);
        if (Float.isNaN(x)) {
            counts[2]++;
            return x;
        }
        if (Double.isInfinite(d)) {
            counts[3]++;
            return x;
        }
        if (d > max) {
            counts[0]++;
            return sign * (float) max;
        }
        if (d > 0 && d < min) {
            counts[1]++;
            return sign * (float) min;
        }
        return x;
    }

    private static byte[] littleEndianFloats(float[] values) {
        byte[] bytes = new byte[values.length * 4];
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToRawIntBits(values[i]);
            for (int k = 0; k < 4; k++) {
                bytes[4 * i + k] = (byte) (bits >>> (8 * k));
            }
        }
        return bytes;
    }

    private static short halfAt(ByteBuffer buffer, int byteIndex) {
        return (short) ((buffer.get(byteIndex) & 0xFF) | (buffer.get(byteIndex + 1) & 0xFF) << 8);
    }

    /** Values around every clamp and rounding edge, then seeded random ones of all magnitudes. */
    private static float[] edgeAndRandomValues(int randomCount) {
        float[] edges = {
            0f, -0f, 1f, -2.5f, 65504f, 65505f, 65519f, 65520f, 65536f, 70000f, -70000f, 1e30f, -1e30f,
            Float.MAX_VALUE, 0x1p-24f, Math.nextDown(0x1p-24f), Math.nextUp(0x1p-24f), 0x1p-25f, 3e-8f,
            -3e-8f, 1e-9f, -1e-9f, Float.MIN_VALUE, -Float.MIN_VALUE, 6.1e-5f, 1e-3f, 999.9f, 1000f, 1000.1f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0xFF800001),
        };
        float[] values = new float[edges.length + randomCount];
        System.arraycopy(edges, 0, values, 0, edges.length);
        SplittableRandom random = new SplittableRandom(42L);
        for (int i = edges.length; i < values.length; i++) {
            values[i] = random.nextInt(4) == 0
                    ? Float.intBitsToFloat(random.nextInt())
                    : (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(-30, 20)));
        }
        return values;
    }

    private static void checkFloatToHalf(float[] values, Fp16Clamp clamp, IntFunction<ByteBuffer> allocate) {
        ByteBuffer src = allocate.apply(values.length * 4 + 12);
        ByteBuffer dst = allocate.apply(values.length * 2 + 10);
        src.position(12).put(littleEndianFloats(values)).position(12); // odd offsets: unaligned views
        dst.position(6);
        ByteOrder srcOrder = src.order();

        ClampStats stats = TensorConverter.convertFloatToHalf(src, dst, clamp);

        assertEquals(src.limit(), src.position(), "source consumed");
        assertEquals(6 + values.length * 2, dst.position(), "destination advanced");
        assertEquals(srcOrder, src.order(), "byte order of the caller's buffer untouched");
        long[] counts = new long[4];
        for (int i = 0; i < values.length; i++) {
            float clamped = referenceClamp(values[i], clamp.maxFinite(), clamp.minPositive(), counts);
            short expected = FP16.round(clamped);
            short actual = halfAt(dst, 6 + 2 * i);
            if (expected != actual) {
                assertEquals(expected, actual, "element " + i + " = " + values[i]);
            }
        }
        assertEquals(new ClampStats(values.length, counts[0], counts[1], counts[2], counts[3]), stats);
    }

    @Test
    void defaultClampOnHeapAndDirectBuffersAcrossChunks() {
        float[] values = edgeAndRandomValues(10_000);
        checkFloatToHalf(values, Fp16Clamp.DEFAULT, ByteBuffer::allocate);
        checkFloatToHalf(values, Fp16Clamp.DEFAULT, ByteBuffer::allocateDirect);
        checkFloatToHalf(values, Fp16Clamp.NONE, ByteBuffer::allocate);
        checkFloatToHalf(values, new Fp16Clamp(1000f, 1e-3f), ByteBuffer::allocateDirect);
        checkFloatToHalf(values, new Fp16Clamp(1e-5f, 1e-7f), ByteBuffer::allocate); // below the normal range
        checkFloatToHalf(values, new Fp16Clamp(1e6f, 0f), ByteBuffer::allocate); // clamp beyond FP16: inf
    }

    @Test
    void defaultClampKeepsValuesInRangeAndSpecials() {
        float[] values = {70000f, -1e30f, 65504f, 65520f, 1e-9f, -3e-8f, 0x1p-24f, 0f, -0f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
        ByteBuffer src = ByteBuffer.wrap(littleEndianFloats(values));
        ByteBuffer dst = ByteBuffer.allocate(values.length * 2);
        ClampStats stats = TensorConverter.convertFloatToHalf(src, dst, Fp16Clamp.DEFAULT);
        short[] expected = {0x7BFF, (short) 0xFBFF, 0x7BFF, 0x7BFF, 0x0001, (short) 0x8001, 0x0001, 0, (short) 0x8000,
            0x7C00, (short) 0xFC00, 0x7E00};
        for (int i = 0; i < values.length; i++) {
            assertEquals(expected[i], halfAt(dst, 2 * i), "element " + i + " = " + values[i]);
        }
        assertEquals(new ClampStats(12, 3, 2, 1, 2), stats);
        assertEquals(5, stats.clamped());
    }

    @Test
    void withoutClampOverflowGoesToInfinityAndTinyValuesToZero() {
        ByteBuffer src = ByteBuffer.wrap(littleEndianFloats(new float[] {1e6f, -1e-9f}));
        ByteBuffer dst = ByteBuffer.allocate(4);
        ClampStats stats = TensorConverter.convertFloatToHalf(src, dst, Fp16Clamp.NONE);
        assertEquals((short) 0x7C00, halfAt(dst, 0));
        assertEquals((short) 0x8000, halfAt(dst, 2));
        assertEquals(new ClampStats(2, 0, 0, 0, 0), stats);
    }

    @Test
    void mappedFileBuffers(@TempDir Path dir) throws IOException {
        float[] values = edgeAndRandomValues(5_000);
        Path file = dir.resolve("tensor.bin");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            int floatBytes = values.length * 4;
            MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, floatBytes + values.length * 2L);
            mapped.put(littleEndianFloats(values));
            ByteBuffer src = mapped.duplicate().position(0).limit(floatBytes);
            ByteBuffer dst = mapped.duplicate().position(floatBytes);
            ClampStats stats = TensorConverter.convertFloatToHalf(src, dst, Fp16Clamp.DEFAULT);
            assertEquals(values.length, stats.elements());
            long[] counts = new long[4];
            for (int i = 0; i < values.length; i++) {
                short expected = FP16.round(referenceClamp(values[i], 65504, 0x1p-24, counts));
                assertEquals(expected, halfAt(mapped, floatBytes + 2 * i));
            }
        }
    }

    @Test
    void halfToFloatForAllHalves() {
        ByteBuffer src = ByteBuffer.allocateDirect(0x20000);
        for (int h = 0; h < 0x10000; h++) {
            src.put((byte) h).put((byte) (h >>> 8));
        }
        src.flip();
        ByteBuffer dst = ByteBuffer.allocate(0x40000);
        TensorConverter.convertHalfToFloat(src, dst);
        assertEquals(0x40000, dst.position());
        dst.order(ByteOrder.LITTLE_ENDIAN);
        for (int h = 0; h < 0x10000; h++) {
            int abs = h & 0x7FFF;
            int actual = dst.getInt(4 * h);
            if (abs > 0x7C00) {
                assertTrue(Float.isNaN(Float.intBitsToFloat(actual)));
                continue;
            }
            double magnitude = abs == 0x7C00 ? Double.POSITIVE_INFINITY : FP16.value(abs);
            float expected = (float) ((h & 0x8000) != 0 ? -magnitude : magnitude);
            assertEquals(Float.floatToRawIntBits(expected), actual);
        }
    }

    @Test
    void bfloat16BothWays() {
        float[] values = edgeAndRandomValues(5_000);
        ByteBuffer src = ByteBuffer.wrap(littleEndianFloats(values));
        ByteBuffer bf16 = ByteBuffer.allocateDirect(values.length * 2);
        TensorConverter.convertFloatToBFloat16(src, bf16);
        bf16.flip();
        for (int i = 0; i < values.length; i++) {
            assertEquals(ReferenceRounding.BF16.round(values[i]), halfAt(bf16, 2 * i), "element " + i);
        }
        ByteBuffer back = ByteBuffer.allocate(values.length * 4).order(ByteOrder.BIG_ENDIAN);
        TensorConverter.convertBFloat16ToFloat(bf16, back);
        ByteBuffer le = back.flip().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            assertEquals((halfAt(bf16, 2 * i) & 0xFFFF) << 16, le.getInt(4 * i));
        }
    }

    @Test
    void emptyInputAndBadSizes() {
        assertEquals(ClampStats.EMPTY, TensorConverter.convertFloatToHalf(ByteBuffer.allocate(0),
                ByteBuffer.allocate(0), Fp16Clamp.DEFAULT));
        IllegalArgumentException ragged = assertThrows(IllegalArgumentException.class,
                () -> TensorConverter.convertFloatToHalf(ByteBuffer.allocate(6), ByteBuffer.allocate(8),
                        Fp16Clamp.DEFAULT));
        assertTrue(ragged.getMessage().contains("not a multiple of the element size 4"), ragged.getMessage());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> TensorConverter.convertFloatToHalf(ByteBuffer.allocate(16), ByteBuffer.allocate(6),
                        Fp16Clamp.DEFAULT));
        assertTrue(small.getMessage().contains("8 needed for 4 elements"), small.getMessage());
    }

    @Test
    void clampLimitsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new Fp16Clamp(1f, 2f));
        assertThrows(IllegalArgumentException.class, () -> new Fp16Clamp(Float.NaN, 0f));
        assertThrows(IllegalArgumentException.class, () -> new Fp16Clamp(1f, -1f));
        assertEquals(0, Float.floatToRawIntBits(new Fp16Clamp(1f, -0f).minPositive()));
        assertEquals(-65504f, Fp16Clamp.DEFAULT.apply(-1e9f));
        assertEquals(0x1p-24f, Fp16Clamp.DEFAULT.apply(1e-12f));
        assertEquals(-0f, Fp16Clamp.DEFAULT.apply(-0f));
        assertEquals(0x7FC01234, Float.floatToRawIntBits(Fp16Clamp.DEFAULT.apply(Float.intBitsToFloat(0x7FC01234))));
        assertArrayEquals(new float[] {Float.NEGATIVE_INFINITY, 3f},
                new float[] {Fp16Clamp.DEFAULT.apply(Float.NEGATIVE_INFINITY), Fp16Clamp.DEFAULT.apply(3f)});
    }
}
