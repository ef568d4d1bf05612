package io.onnxslanc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** FloatBits against {@link ReferenceRounding}, an independent enumeration-based reference. */
class FloatBitsTest {

    private static final ReferenceRounding REF = ReferenceRounding.FP16;

    private static void assertToHalf(float x) {
        short expected = REF.round(x);
        short actual = FloatBits.toHalf(x);
        if (expected != actual) {
            assertEquals(hex(expected), hex(actual),
                    "toHalf(" + x + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
        }
    }

    private static String hex(short h) {
        return String.format("0x%04x", h & 0xFFFF);
    }

    private static float bitsToFloat(int bits) {
        return Float.intBitsToFloat(bits);
    }

    @Test
    void toFloatIsExactForAllHalves() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            int abs = bits & 0x7FFF;
            boolean negative = (bits & 0x8000) != 0;
            int actual = FloatBits.halfToFloatBits(h);
            assertEquals(actual, Float.floatToRawIntBits(FloatBits.halfToFloat(h)));
            if (abs > 0x7C00) {
                assertTrue(Float.isNaN(bitsToFloat(actual)), () -> "NaN half " + hex(h));
                assertEquals(negative, actual < 0, () -> "NaN sign " + hex(h));
                assertEquals(abs & 0x3FF, (actual >>> 13) & 0x3FF, () -> "NaN payload " + hex(h));
                assertEquals(0, actual & 0x1FFF, () -> "NaN low bits " + hex(h));
            } else {
                double magnitude = abs == 0x7C00 ? Double.POSITIVE_INFINITY : REF.value(abs);
                float expected = (float) (negative ? -magnitude : magnitude);
                assertEquals(Float.floatToRawIntBits(expected), actual, () -> "toFloat " + hex(h));
            }
        }
    }

    @Test
    void everyHalfRoundTripsAndNanBecomesTheCanonicalNan() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            short back = FloatBits.toHalf(FloatBits.halfToFloat(h));
            short expected = (short) ((bits & 0x7FFF) > 0x7C00 ? 0x7E00 : bits);
            assertEquals(expected, back, () -> "round trip of " + hex(h) + " gave " + hex(back));
        }
    }

    @Test
    void everyRoundingBoundaryAndItsNeighbours() {
        // The midpoint between consecutive halves (the last pair is 65504 / 65536, the overflow
        // threshold 65520) is exactly a float; check it, a few ulps around it and around each half.
        for (int p = 0; p < REF.infinityBits(); p++) {
            float midpoint = (float) ((REF.value(p) + REF.value(p + 1)) / 2);
            assertEquals((REF.value(p) + REF.value(p + 1)) / 2, midpoint, 0.0, "midpoint exact");
            float exact = (float) REF.value(p);
            for (float centre : new float[] {midpoint, exact}) {
                float up = centre;
                float down = centre;
                for (int k = 0; k < 3; k++) {
                    for (float x : new float[] {up, down}) {
                        assertToHalf(x);
                        assertToHalf(-x);
                    }
                    up = Math.nextUp(up);
                    down = Math.nextDown(down);
                }
            }
        }
    }

    @Test
    void specialValuesAndRangeEdges() {
        float[] values = {
            0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Math.nextDown(Float.MIN_NORMAL),
            65504f, 65505f, 65519f, Math.nextDown(65520f), 65520f, Math.nextUp(65520f), 65536f, 1e6f, 1e30f,
            0x1p-14f, Math.nextDown(0x1p-14f), 0x1p-24f, 0x1p-25f, Math.nextUp(0x1p-25f), Math.nextDown(0x1p-25f),
            0x1.8p-25f, 0x1.8p-24f, 0x1p-26f, 1e-9f, 1e-30f, 1f, -1f, 0.1f, 1f / 3, 2048f, 2049f, 2050f, 2051f,
        };
        for (float x : values) {
            assertToHalf(x);
            assertToHalf(-x);
        }
        assertEquals(hex((short) 0x7BFF), hex(FloatBits.toHalf(65519.996f)));
        assertEquals(hex((short) 0x7C00), hex(FloatBits.toHalf(65520f)));
        assertEquals(hex((short) 0x0001), hex(FloatBits.toHalf(Math.nextUp(0x1p-25f))));
        assertEquals(hex((short) 0x0000), hex(FloatBits.toHalf(0x1p-25f)));
        assertEquals(hex((short) 0x8000), hex(FloatBits.toHalf(-1e-30f)));
        // Every float32 subnormal flushes to a signed zero.
        for (int bits = 1; bits < 0x00800000; bits += 997) {
            assertEquals(hex((short) 0x0000), hex(FloatBits.floatBitsToHalf(bits)));
            assertEquals(hex((short) 0x8000), hex(FloatBits.floatBitsToHalf(bits | 0x80000000)));
        }
    }

    @Test
    void everyNanBecomesTheCanonicalQuietNan() {
        int[] nans = {0x7FC00000, 0x7F800001, 0x7FBFFFFF, 0x7FFFFFFF, 0x7F802000, 0x7FC01234, 0x7FA00000};
        for (int bits : nans) {
            assertEquals(hex((short) 0x7E00), hex(FloatBits.floatBitsToHalf(bits)), Integer.toHexString(bits));
            assertEquals(hex((short) 0x7E00), hex(FloatBits.floatBitsToHalf(bits | 0x80000000)),
                    Integer.toHexString(bits | 0x80000000));
        }
    }

    @Test
    void tenMillionRandomBitPatterns() {
        SplittableRandom random = new SplittableRandom(20240601L);
        for (int i = 0; i < 10_000_000; i++) {
            assertToHalf(bitsToFloat(random.nextInt()));
        }
    }

    @Test
    void randomValuesInTheHalfRange() {
        // Uniform bit patterns mostly land outside the FP16 range; these stay inside it.
        SplittableRandom random = new SplittableRandom(7L);
        for (int i = 0; i < 2_000_000; i++) {
            int exponent = 100 + random.nextInt(45); // 2^-27 .. 2^17
            int bits = (random.nextInt(2) << 31) | (exponent << 23) | random.nextInt(1 << 23);
            assertToHalf(bitsToFloat(bits));
        }
    }
}
