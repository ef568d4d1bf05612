package io.onnxslanc.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.platform.Fp16Conversions;
import io.onnxslanc.convert.Fp16Clamp;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.convert.TensorConverter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;

/**
 * Our converter against ONNX Runtime's Java {@link Fp16Conversions} (1.28.0), bit for bit.
 *
 * <p>How ORT behaves, found with these tests and javap:
 * <ul>
 * <li>{@code floatToFp16} delegates to the JDK's {@code Float.floatToFloat16} on Java 20+ and to its
 *     own port of the MLAS routine, {@code mlasFloatToFp16}, before. Both round to nearest even with
 *     subnormals and overflow to infinity. They differ on NaN: the MLAS port reads the float with
 *     {@code Float.floatToIntBits}, which canonicalises NaN, so every NaN gives 0x7E00 (sign and
 *     payload dropped); the JDK keeps sign and payload. We return 0x7E00, so on Java 20+ NaN inputs
 *     are only checked to stay NaN. (ORT's C++ MLFloat16 would give sign | 0x7E00.)
 * <li>{@code floatToBf16} also reads through {@code floatToIntBits}: every NaN gives 0x7FC0, as ours.
 * <li>{@code fp16ToFloat} / {@code bf16ToFloat} are exact and keep NaN payloads, as ours; on Java 20+
 *     {@code fp16ToFloat} (the JDK's {@code Float.float16ToFloat}, an F16C instruction on x86) also
 *     sets the quiet bit of signalling NaNs, which we and {@code mlasFp16ToFloat} leave alone.
 * </ul>
 */
class FloatBitsMatchOrtTest {

    private static final boolean ORT_USES_JDK_FLOAT16 = Runtime.version().feature() >= 20;

    private static String hex(int bits) {
        return String.format("0x%04x", bits & 0xFFFF);
    }

    private static String floatHex(int bits) {
        return String.format("0x%08x", bits);
    }

    private static boolean isNaN(int floatBits) {
        return (floatBits & 0x7FFFFFFF) > 0x7F800000;
    }

    private static void checkFp16(int floatBits) {
        float x = Float.intBitsToFloat(floatBits);
        short ours = FloatBits.floatBitsToHalf(floatBits);
        short mlas = Fp16Conversions.mlasFloatToFp16(x);
        if (ours != mlas) {
            assertEquals(hex(mlas), hex(ours), "vs mlasFloatToFp16 at " + floatHex(floatBits));
        }
        short ort = Fp16Conversions.floatToFp16(x);
        if (ours != ort) {
            if (ORT_USES_JDK_FLOAT16 && isNaN(floatBits)) {
                assertTrue((ort & 0x7FFF) > 0x7C00 && (ort & 0x8000) == (floatBits >>> 16 & 0x8000),
                        "JDK floatToFloat16 NaN keeps NaN and sign at " + floatHex(floatBits));
            } else {
                assertEquals(hex(ort), hex(ours), "vs floatToFp16 at " + floatHex(floatBits));
            }
        }
    }

    private static void checkBf16(int floatBits) {
        short ours = FloatBits.floatBitsToBFloat16(floatBits);
        short ort = Fp16Conversions.floatToBf16(Float.intBitsToFloat(floatBits));
        if (ours != ort) {
            assertEquals(hex(ort), hex(ours), "vs floatToBf16 at " + floatHex(floatBits));
        }
    }

    /**
     * Every 16-bit pattern's float value and, for consecutive patterns, their midpoint, each with
     * three float ulps either side, both signs; float32 subnormals, extremes, infinities and NaNs.
     */
    private static void sweepEdges(IntConsumer check, boolean bf16) {
        for (int p = 0; p < 0x7FFF; p++) {
            float value = bf16 ? FloatBits.bfloat16ToFloat((short) p) : FloatBits.halfToFloat((short) p);
            float next = bf16 ? FloatBits.bfloat16ToFloat((short) (p + 1)) : FloatBits.halfToFloat((short) (p + 1));
            if (Float.isNaN(value)) {
                continue;
            }
            float midpoint = Float.isInfinite(next) ? (bf16 ? 0x1.ffp127f : 65520f) : (value + next) / 2;
            for (float centre : new float[] {value, midpoint}) {
                if (Float.isInfinite(centre)) {
                    continue;
                }
                float up = centre;
                float down = centre;
                for (int k = 0; k < 4; k++) {
                    for (float x : new float[] {up, down}) {
                        check.accept(Float.floatToRawIntBits(x));
                        check.accept(Float.floatToRawIntBits(x) ^ 0x80000000);
                    }
                    up = Math.nextUp(up);
                    down = Math.nextDown(down);
                }
            }
        }
        int[] specials = {0, 0x80000000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x00000001, 0x007FFFFF,
            0x00800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FBFFFFF,
            0x7F802000, 0x7F801FFF, 0x7FC01234, 0x7F80FFFF, 0xFF80FFFF, 0x7F808000};
        for (int bits : specials) {
            check.accept(bits);
        }
        for (int bits = 1; bits < 0x00800000; bits += 4093) {
            check.accept(bits);
            check.accept(bits | 0x80000000);
        }
    }

    @Test
    void floatToFp16MatchesOrtOnAllEdges() {
        sweepEdges(FloatBitsMatchOrtTest::checkFp16, false);
    }

    @Test
    void floatToFp16MatchesOrtOnTwentyMillionRandomPatterns() {
        SplittableRandom random = new SplittableRandom(0x5EEDL);
        for (int i = 0; i < 20_000_000; i++) {
            checkFp16(random.nextInt());
        }
        // Uniform patterns are mostly far outside the FP16 range: add ones inside it.
        for (int i = 0; i < 5_000_000; i++) {
            int exponent = 100 + random.nextInt(45);
            checkFp16((random.nextInt(2) << 31) | (exponent << 23) | random.nextInt(1 << 23));
        }
    }

    @Test
    void fp16ToFloatMatchesOrtForAllHalves() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            int ours = Float.floatToRawIntBits(FloatBits.halfToFloat(h));
            int ort = Float.floatToRawIntBits(Fp16Conversions.fp16ToFloat(h));
            int mlas = Float.floatToRawIntBits(Fp16Conversions.mlasFp16ToFloat(h));
            boolean nan = (bits & 0x7FFF) > 0x7C00;
            assertEquals(ORT_USES_JDK_FLOAT16 && nan ? ours | 0x00400000 : ours, ort, () -> "vs fp16ToFloat at " + hex(h));
            assertEquals(mlas, ours, () -> "vs mlasFp16ToFloat at " + hex(h));
        }
    }

    @Test
    void bf16MatchesOrtEverywhere() {
        sweepEdges(FloatBitsMatchOrtTest::checkBf16, true);
        SplittableRandom random = new SplittableRandom(0xBF16L);
        for (int i = 0; i < 20_000_000; i++) {
            checkBf16(random.nextInt());
        }
        for (int bits = 0; bits < 0x10000; bits++) {
            short b = (short) bits;
            assertEquals(Float.floatToRawIntBits(Fp16Conversions.bf16ToFloat(b)),
                    Float.floatToRawIntBits(FloatBits.bfloat16ToFloat(b)), () -> "vs bf16ToFloat at " + hex(b));
        }
    }

    @Test
    void bulkConversionMatchesOrtBufferConversion() {
        int n = 1 << 20;
        ByteBuffer src = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        SplittableRandom random = new SplittableRandom(11L);
        for (int i = 0; i < n; i++) {
            float x = i % 3 == 0 ? Float.intBitsToFloat(random.nextInt())
                    : (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(-28, 18)));
            src.putFloat(4 * i, ORT_USES_JDK_FLOAT16 && Float.isNaN(x) ? 1f : x); // see the class comment
        }
        FloatBuffer floats = src.asFloatBuffer();
        ShortBuffer ortHalves = Fp16Conversions.convertFloatBufferToFp16Buffer(floats);
        ShortBuffer ortBf16 = Fp16Conversions.convertFloatBufferToBf16Buffer(floats);

        ByteBuffer halves = ByteBuffer.allocate(2 * n);
        TensorConverter.convertFloatToHalf(src.duplicate(), halves, Fp16Clamp.NONE);
        ByteBuffer bf16 = ByteBuffer.allocate(2 * n);
        TensorConverter.convertFloatToBFloat16(src.duplicate(), bf16);
        ShortBuffer ours = halves.flip().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        ShortBuffer oursBf16 = bf16.flip().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        for (int i = 0; i < n; i++) {
            if (ortHalves.get(i) != ours.get(i)) {
                assertEquals(hex(ortHalves.get(i)), hex(ours.get(i)), "fp16 element " + i);
            }
            if (ortBf16.get(i) != oursBf16.get(i)) {
                assertEquals(hex(ortBf16.get(i)), hex(oursBf16.get(i)), "bf16 element " + i);
            }
        }
    }
}
