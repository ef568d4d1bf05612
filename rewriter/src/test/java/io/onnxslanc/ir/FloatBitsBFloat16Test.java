package io.onnxslanc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** BF16 conversions against {@link ReferenceRounding#BF16}. */
class FloatBitsBFloat16Test {

    private static final ReferenceRounding REF = ReferenceRounding.BF16;

    private static String hex(int h) {
        return String.format("0x%04x", h & 0xFFFF);
    }

    private static void assertToBf16(float x) {
        short e = REF.round(x);
        short a = FloatBits.toBFloat16(x);
        if (e != a) {
            assertEquals(hex(e), hex(a), () -> "toBFloat16(0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")");
        }
    }

    @Test
    void toFloatIsExactAndRoundTrips() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short b = (short) bits;
            int abs = bits & 0x7FFF;
            float f = FloatBits.bfloat16ToFloat(b);
            if (abs > 0x7F80) {
                assertTrue(Float.isNaN(f), () -> hex(b));
                assertEquals(bits, Float.floatToRawIntBits(f) >>> 16, () -> "NaN bits kept " + hex(b));
                continue;
            }
            double magnitude = abs == 0x7F80 ? Double.POSITIVE_INFINITY : REF.value(abs);
            float expected = (float) ((bits & 0x8000) != 0 ? -magnitude : magnitude);
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(f), () -> "value of " + hex(b));
            assertEquals(b, FloatBits.toBFloat16(f), () -> "round trip of " + hex(b));
        }
    }

    @Test
    void roundingBoundariesIncludingOverflowAndSubnormals() {
        for (int p = 0; p < REF.infinityBits(); p++) {
            float midpoint = (float) ((REF.value(p) + REF.value(p + 1)) / 2);
            assertEquals((REF.value(p) + REF.value(p + 1)) / 2, midpoint, 0.0, "midpoint exact");
            for (float x : new float[] {midpoint, Math.nextUp(midpoint), Math.nextDown(midpoint)}) {
                assertToBf16(x);
                assertToBf16(-x);
            }
        }
        assertEquals(hex(0x7F80), hex(FloatBits.toBFloat16(Float.MAX_VALUE)));
        assertEquals(hex(0x7F7F), hex(FloatBits.toBFloat16(0x1.fep127f)));
        assertEquals(hex(0x0000), hex(FloatBits.toBFloat16(Float.MIN_VALUE)));
    }

    @Test
    void everyNanBecomesTheCanonicalQuietNan() {
        int[] nans = {0x7F800001, 0x7F80FFFF, 0x7FFFFFFF, 0x7FC00000, 0x7FBFFFFF, 0x7FA5A5A5};
        for (int bits : nans) {
            assertToBf16(Float.intBitsToFloat(bits));
            assertToBf16(Float.intBitsToFloat(bits | 0x80000000));
        }
        assertEquals(hex(0x7FC0), hex(FloatBits.floatBitsToBFloat16(0x7F800001)));
        assertEquals(hex(0x7FC0), hex(FloatBits.floatBitsToBFloat16(0xFFFFFFFF)));
        assertEquals(hex(0x7FC0), hex(FloatBits.floatBitsToBFloat16(0xFF80FFFF)));
    }

    @Test
    void twoMillionRandomBitPatterns() {
        SplittableRandom random = new SplittableRandom(99L);
        for (int i = 0; i < 2_000_000; i++) {
            assertToBf16(Float.intBitsToFloat(random.nextInt()));
        }
    }
}
