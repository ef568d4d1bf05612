package io.onnxslanc.convert;

import io.onnxslanc.ir.FloatBits;

/**
 * Scalar conversions between float32 and the two 16-bit float formats, done on the bit patterns.
 *
 * <p>FP16 (IEEE binary16): round to nearest, ties to even; subnormals are produced and read;
 * values from 65520 up round to infinity. BF16 (the top half of a float32): round to nearest, ties to
 * even; overflow rounds to infinity. Reading either format is exact and keeps NaN payloads.
 *
 * <p>Every NaN becomes the canonical quiet NaN, 0x7E00 in FP16 and 0x7FC0 in BF16 (what Java's
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
public final class HalfFloats {

    /** Bit pattern of the smallest positive normal FP16 value, 2^-14, as a float32. */
    private static final int FLOAT_BITS_OF_MIN_NORMAL_HALF = 0x38800000;
    /** Bit pattern of 2^16 as a float32: from here on (and from 65520 by rounding) FP16 is infinite. */
    private static final int FLOAT_BITS_OF_HALF_OVERFLOW = 0x47800000;
    private static final int FLOAT_EXPONENT_MASK = 0x7F800000;
    private static final int HALF_INFINITY = 0x7C00;
    private static final short HALF_QUIET_NAN = 0x7E00;
    private static final short BFLOAT16_QUIET_NAN = 0x7FC0;

    private HalfFloats() {
    }

    /** Float32 to FP16 bits, round to nearest even. */
    public static short toHalf(float f) {
        return floatBitsToHalf(Float.floatToRawIntBits(f));
    }

    /** The float32 value {@code f} has after a trip through FP16 (round to nearest even), as an FP16 cast gives. */
    public static float roundTrip(float f) {
        return toFloat(toHalf(f));
    }

    /**
     * FP16 bits to the float32 with the same value (exact). Use {@link #halfToFloatBits(short)} where
     * NaN payloads matter: a float value is not guaranteed to carry signalling-NaN bits unchanged.
     */
    public static float toFloat(short h) {
        return Float.intBitsToFloat(halfToFloatBits(h));
    }

    /** Same as {@link #toHalf(float)} on a float32 bit pattern. */
    public static short floatBitsToHalf(int floatBits) {
        int abs = floatBits & 0x7FFFFFFF;
        int sign = (floatBits >>> 16) & 0x8000;
        int half;
        // One unsigned compare: abs in [2^-14, 2^16), the range where the result is a normal half or,
        // after rounding up, infinity.
        if (Integer.compareUnsigned(abs - FLOAT_BITS_OF_MIN_NORMAL_HALF,
                FLOAT_BITS_OF_HALF_OVERFLOW - FLOAT_BITS_OF_MIN_NORMAL_HALF) < 0) {
            half = normalToHalf(abs);
        } else if (abs < FLOAT_BITS_OF_MIN_NORMAL_HALF) {
            half = smallToHalf(abs);
        } else {
            if (abs > FLOAT_EXPONENT_MASK) {
                return HALF_QUIET_NAN;
            }
            half = HALF_INFINITY;
        }
        return (short) (sign | half);
    }

    /**
     * Rebias the exponent (127 -> 15) and drop 13 mantissa bits with round-to-nearest-even: adding
     * 0xFFF plus the lowest kept bit carries into the kept bits exactly when the dropped part is above
     * one half, or exactly one half with an odd kept part. A carry out of the mantissa correctly
     * bumps the exponent, up to infinity (0x7C00) for 65520 and above. Valid for abs in
     * [2^-14, 2^16); package-private for the bulk converter's fast path.
     */
    static int normalToHalf(int abs) {
        int lowestKeptBit = (abs >>> 13) & 1;
        return (abs - ((127 - 15) << 23) + 0xFFF + lowestKeptBit) >>> 13;
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

    /** FP16 bits to float32 bits (exact; NaN payloads are kept): {@link FloatBits#halfToFloatBits}. */
    public static int halfToFloatBits(short h) {
        return FloatBits.halfToFloatBits(h);
    }

    /** Float32 to BF16 bits, round to nearest even; NaN becomes the canonical quiet NaN 0x7FC0. */
    public static short toBFloat16(float f) {
        return floatBitsToBFloat16(Float.floatToRawIntBits(f));
    }

    /** BF16 bits to float32 (exact): {@link FloatBits#bfloat16ToFloat}. */
    public static float bf16ToFloat(short b) {
        return FloatBits.bfloat16ToFloat(b);
    }

    /** Same as {@link #toBFloat16(float)} on a float32 bit pattern. */
    public static short floatBitsToBFloat16(int floatBits) {
        if ((floatBits & 0x7FFFFFFF) > FLOAT_EXPONENT_MASK) {
            return BFLOAT16_QUIET_NAN; // adding the rounding bias could carry a NaN into infinity
        }
        int lowestKeptBit = (floatBits >>> 16) & 1;
        return (short) ((floatBits + 0x7FFF + lowestKeptBit) >>> 16);
    }
}
