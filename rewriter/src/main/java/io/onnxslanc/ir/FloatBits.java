package io.onnxslanc.ir;

/**
 * Decoding of the 16-bit float types to float32, the one place every stage reads FP16 / BF16 values from (small
 * constants here, weights in the calibration, the conversion kernel's inverse). Encoding lives in the convert stage.
 */
public final class FloatBits {
    private static final int HALF_INFINITY = 0x7C00;
    private static final int FLOAT_EXPONENT_MASK = 0x7F800000;

    private FloatBits() {
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

    /** FP16 bits to the float32 with the same value. */
    public static float halfToFloat(short h) {
        return Float.intBitsToFloat(halfToFloatBits(h));
    }

    /** bfloat16 is the upper half of a float32. */
    public static float bfloat16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }
}
