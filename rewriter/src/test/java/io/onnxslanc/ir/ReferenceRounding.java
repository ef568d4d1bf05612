package io.onnxslanc.ir;

import java.util.Arrays;

/**
 * Independent reference for float32 -> FP16 / BF16 rounding, built from the format definitions
 * rather than from bit tricks: every non-negative finite value of the 16-bit format is computed as
 * a double (significand times a power of two), plus the first "unbounded exponent" value right above
 * the largest finite one, which stands for infinity. A float is rounded by binary search for its
 * neighbours and an exact comparison with their midpoint (the midpoint of two such values is exact in
 * double), ties going to the even bit pattern.
 */
public final class ReferenceRounding {

    /** FP16: 5 exponent bits, 10 mantissa bits, bias 15. */
    public static final ReferenceRounding FP16 = new ReferenceRounding(10, 15, 0x7C00, 0x7E00);
    /** BF16: 8 exponent bits, 7 mantissa bits, bias 127. */
    public static final ReferenceRounding BF16 = new ReferenceRounding(7, 127, 0x7F80, 0x7FC0);

    private final int infinityBits;
    private final int quietNanBits;
    /** values[p] = value of the non-negative bit pattern p, for p = 0 .. infinityBits (2^(emax+1) there). */
    private final double[] values;

    private ReferenceRounding(int mantissaBits, int bias, int infinityBits, int quietNanBits) {
        this.infinityBits = infinityBits;
        this.quietNanBits = quietNanBits;
        values = new double[infinityBits + 1];
        for (int p = 0; p <= infinityBits; p++) {
            int exponent = p >>> mantissaBits;
            int mantissa = p & ((1 << mantissaBits) - 1);
            values[p] = exponent == 0
                    ? Math.scalb((double) mantissa, 1 - bias - mantissaBits)
                    : Math.scalb((double) ((1 << mantissaBits) + mantissa), exponent - bias - mantissaBits);
        }
    }

    /** Value of a finite non-negative bit pattern, or the value standing for infinity. */
    public double value(int bits) {
        return values[bits];
    }

    public int infinityBits() {
        return infinityBits;
    }

    /**
     * Round to nearest, ties to even. Any NaN gives the positive canonical quiet NaN (the project's
     * convention, the one of ONNX Runtime's Java converters: NaN sign and payload are not kept).
     */
    public short round(float x) {
        int sign = (Float.floatToRawIntBits(x) >>> 16) & 0x8000;
        if (Float.isNaN(x)) {
            return (short) quietNanBits;
        }
        double d = Math.abs((double) x);
        if (d >= values[infinityBits]) {
            return (short) (sign | infinityBits);
        }
        int i = Arrays.binarySearch(values, d);
        int result;
        if (i >= 0) {
            result = i;
        } else {
            int above = -i - 1; // values[above - 1] < d < values[above]
            int below = above - 1;
            double midpoint = (values[below] + values[above]) / 2;
            if (d < midpoint) {
                result = below;
            } else if (d > midpoint) {
                result = above;
            } else {
                result = (below & 1) == 0 ? below : above;
            }
        }
        return (short) (sign | result);
    }
}
