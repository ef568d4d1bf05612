package io.onnxslanc.convert;

/**
 * Limits applied to float32 values before they are rounded to FP16, so that weights neither
 * overflow to infinity nor flush to zero: a finite value with |x| > maxFinite becomes ±maxFinite,
 * a nonzero value with |x| < minPositive becomes ±minPositive; zeros, infinities and NaN are kept.
 *
 * @param maxFinite   largest magnitude kept as is; +infinity disables the high clamp
 * @param minPositive smallest nonzero magnitude kept as is; 0 disables the low clamp
 */
public record Fp16Clamp(float maxFinite, float minPositive) {

    /** Largest finite FP16 value. */
    public static final float FP16_MAX_FINITE = 65504f;
    /** Smallest positive FP16 value (a subnormal), 2^-24 ≈ 5.96e-8. */
    public static final float FP16_MIN_POSITIVE = 0x1p-24f;

    /** The FP16 range itself: nothing representable changes, nothing else becomes 0 or infinite. */
    public static final Fp16Clamp DEFAULT = new Fp16Clamp(FP16_MAX_FINITE, FP16_MIN_POSITIVE);
    /** No clamping: plain round-to-nearest-even conversion. */
    public static final Fp16Clamp NONE = new Fp16Clamp(Float.POSITIVE_INFINITY, 0f);

    public Fp16Clamp {
        minPositive += 0f; // -0 -> +0, so that its bit pattern orders below every positive float
        if (!(minPositive >= 0f) || minPositive == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("FP16 clamp: minPositive must be finite and >= 0, got " + minPositive);
        }
        if (!(maxFinite > minPositive)) {
            throw new IllegalArgumentException(
                    "FP16 clamp: maxFinite must be greater than minPositive, got maxFinite=" + maxFinite
                            + " minPositive=" + minPositive);
        }
    }

    /** The clamped value of one float (no counting; the bulk converter counts). */
    public float apply(float x) {
        return Float.intBitsToFloat(applyToBits(Float.floatToRawIntBits(x)));
    }

    /** {@link #apply(float)} on bit patterns, so NaN payloads pass through untouched. */
    public int applyToBits(int floatBits) {
        int abs = floatBits & 0x7FFFFFFF;
        int sign = floatBits & 0x80000000;
        if (abs >= 0x7F800000 || abs == 0) {
            return floatBits;
        }
        if (abs > maxFiniteBits()) {
            return sign | maxFiniteBits();
        }
        if (abs < minPositiveBits()) {
            return sign | minPositiveBits();
        }
        return floatBits;
    }

    /**
     * Bit pattern of maxFinite capped at the largest finite float, so that the comparison
     * "abs > maxFiniteBits" is exactly "finite and |x| > maxFinite". Positive floats order like their
     * bit patterns.
     */
    int maxFiniteBits() {
        return Math.min(Float.floatToRawIntBits(maxFinite), 0x7F7FFFFF);
    }

    int minPositiveBits() {
        return Float.floatToRawIntBits(minPositive);
    }
}
