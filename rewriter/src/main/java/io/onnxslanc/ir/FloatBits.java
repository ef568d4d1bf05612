package io.onnxslanc.ir;

import java.nio.ByteBuffer;

/**
 * The one owner of the 16-bit float formats: float32 to and from FP16 and BF16, done on the bit patterns. Every
 * stage reads and writes FP16 / BF16 values through here (the rewrite's new constants, constant folding, the
 * calibration's weights, the conversion kernel).
 *
 * <p>FP16 (IEEE binary16): round to nearest, ties to even; subnormals are produced and read;
 * values from 65520 up round to infinity. BF16 (the top half of a float32): round to nearest, ties to
 * even; overflow rounds to infinity. Reading either format is exact and keeps NaN payloads.
 *
 * <p>Every NaN written becomes the canonical quiet NaN, 0x7E00 in FP16 and 0x7FC0 in BF16 (what Java's
 * {@code Float.NaN} converts to): this is bit for bit what ONNX Runtime's Java
 * {@code Fp16Conversions.floatToFp16} (on Java 17-19) and {@code floatToBf16} return, since they read
 * the float through {@code Float.floatToIntBits}, which canonicalises NaN. (On Java 20+
 * {@code floatToFp16} delegates to the JDK's {@code Float.floatToFloat16}, which copies sign and
 * payload instead; a canonical NaN keeps our output independent of the JVM.)
 *
 * <p>Integer arithmetic only, with one well-predicted branch for the common case: C2 (Java 17)
 * vectorised none of the branch-free variants tried, and those ran 2-3x slower as scalar code,
 * while real tensors are almost all in the normal range.
 */
public final class FloatBits {
    /** Bit pattern of the smallest positive normal FP16 value, 2^-14, as a float32. */
    private static final int FLOAT_BITS_OF_MIN_NORMAL_HALF = 0x38800000;
    /** Bit pattern of 2^16 as a float32: from here on (and from 65520 by rounding) FP16 is infinite. */
    private static final int FLOAT_BITS_OF_HALF_OVERFLOW = 0x47800000;
    private static final int FLOAT_EXPONENT_MASK = 0x7F800000;
    private static final int HALF_INFINITY = 0x7C00;
    private static final short HALF_QUIET_NAN = 0x7E00;
    private static final short BFLOAT16_QUIET_NAN = 0x7FC0;

    private FloatBits() {
    }

    // ---- FP16 ----

    /** Float32 to FP16 bits, round to nearest even. */
    public static short toHalf(float f) {
        return floatBitsToHalf(Float.floatToRawIntBits(f));
    }

    /** Same as {@link #toHalf(float)} on a float32 bit pattern. */
    public static short floatBitsToHalf(int floatBits) {
        int abs = floatBits & 0x7FFFFFFF;
        int half;
        // One unsigned compare: abs in [2^-14, 2^16), the range where the result is a normal half or,
        // after rounding up, infinity.
        if (Integer.compareUnsigned(abs - FLOAT_BITS_OF_MIN_NORMAL_HALF,
                FLOAT_BITS_OF_HALF_OVERFLOW - FLOAT_BITS_OF_MIN_NORMAL_HALF) < 0) {
            return normalFloatBitsToHalf(floatBits);
        } else if (abs < FLOAT_BITS_OF_MIN_NORMAL_HALF) {
            half = smallToHalf(abs);
        } else {
            if (abs > FLOAT_EXPONENT_MASK) {
                return HALF_QUIET_NAN;
            }
            half = HALF_INFINITY;
        }
        return (short) (((floatBits >>> 16) & 0x8000) | half);
    }

    /**
     * {@link #floatBitsToHalf(int)} for magnitudes in [2^-14, 2^16) only (no range check), for the bulk converter's
     * fast path. Rebias the exponent (127 -> 15) and drop 13 mantissa bits with round-to-nearest-even: adding
     * 0xFFF plus the lowest kept bit carries into the kept bits exactly when the dropped part is above
     * one half, or exactly one half with an odd kept part. A carry out of the mantissa correctly
     * bumps the exponent, up to infinity (0x7C00) for 65520 and above.
     */
    public static short normalFloatBitsToHalf(int floatBits) {
        int abs = floatBits & 0x7FFFFFFF;
        int lowestKeptBit = (abs >>> 13) & 1;
        return (short) (((floatBits >>> 16) & 0x8000) | ((abs - ((127 - 15) << 23) + 0xFFF + lowestKeptBit) >>> 13));
    }

    /**
     * |x| < 2^-14: the result is a subnormal half m * 2^-24 (or zero, or the smallest normal after
     * rounding up). m = round(significand * 2^(e - 126)) with the 24-bit significand of x, so the
     * significand is shifted right by 126 - e >= 14 with round-to-nearest-even. Float32 subnormals
     * (e = 0) and anything below 2^-25 end up as zero; the shift is capped at 31 because Java shifts
     * take their count modulo 32.
     */
    private static int smallToHalf(int abs) {
        int exponent = abs >>> 23;
        int shift = Math.min(126 - exponent, 31);
        int significand = (abs & 0x7FFFFF) | 0x800000;
        int lowestKeptBit = (significand >>> shift) & 1;
        return (significand + (1 << (shift - 1)) - 1 + lowestKeptBit) >>> shift;
    }

    /** FP16 bits to float32 bits (exact; NaN payloads are kept, shifted into the top mantissa bits). */
    public static int halfToFloatBits(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int abs = bits & 0x7FFF;
        if (Integer.compareUnsigned(abs - 0x0400, HALF_INFINITY - 0x0400) < 0) {
            return sign | ((abs << 13) + ((127 - 15) << 23)); // normal: rebias the exponent
        }
        if (abs >= HALF_INFINITY) {
            return sign | FLOAT_EXPONENT_MASK | ((abs & 0x03FF) << 13); // infinity or NaN
        }
        // Zero or subnormal m * 2^-24: exact in float32, so let the hardware normalise it.
        return sign | Float.floatToRawIntBits(abs * 0x1p-24f);
    }

    /**
     * FP16 bits to the float32 with the same value (exact). Use {@link #halfToFloatBits(short)} where
     * NaN payloads matter: a float value is not guaranteed to carry signalling-NaN bits unchanged.
     */
    public static float halfToFloat(short h) {
        return Float.intBitsToFloat(halfToFloatBits(h));
    }

    /** The float32 value {@code f} has after a trip through FP16 (round to nearest even), as an FP16 cast gives. */
    public static float roundTripHalf(float f) {
        return halfToFloat(toHalf(f));
    }

    // ---- BF16 ----

    /** Float32 to BF16 bits, round to nearest even; NaN becomes the canonical quiet NaN 0x7FC0. */
    public static short toBFloat16(float f) {
        return floatBitsToBFloat16(Float.floatToRawIntBits(f));
    }

    /** Same as {@link #toBFloat16(float)} on a float32 bit pattern. */
    public static short floatBitsToBFloat16(int floatBits) {
        if ((floatBits & 0x7FFFFFFF) > FLOAT_EXPONENT_MASK) {
            return BFLOAT16_QUIET_NAN; // adding the rounding bias could carry a NaN into infinity
        }
        int lowestKeptBit = (floatBits >>> 16) & 1;
        return (short) ((floatBits + 0x7FFF + lowestKeptBit) >>> 16);
    }

    /** bfloat16 is the upper half of a float32: exact. */
    public static float bfloat16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    // ---- any floating-point element type ----

    /** True for the element types {@link #put} can write: float32, float64, FP16 and BF16. */
    public static boolean canEncode(DataType t) {
        return t == DataType.FLOAT || t == DataType.FLOAT16 || t == DataType.BFLOAT16 || t == DataType.DOUBLE;
    }

    /** {@code v} rounded to nearest even in {@code t}, as a double; other types leave it unchanged. */
    public static double round(DataType t, double v) {
        return switch (t) {
            case FLOAT -> (float) v;
            case FLOAT16 -> roundTripHalf((float) v);
            case BFLOAT16 -> bfloat16ToFloat(toBFloat16((float) v));
            default -> v;
        };
    }

    /** Appends {@code v} to a little-endian buffer as one element of {@code t}, rounded to nearest even. */
    public static void put(ByteBuffer littleEndian, DataType t, double v) {
        switch (t) {
            case FLOAT -> littleEndian.putFloat((float) v);
            case DOUBLE -> littleEndian.putDouble(v);
            case FLOAT16 -> littleEndian.putShort(toHalf((float) v));
            case BFLOAT16 -> littleEndian.putShort(toBFloat16((float) v));
            default -> throw new IllegalArgumentException("cannot encode a float constant as " + t);
        }
    }
}
