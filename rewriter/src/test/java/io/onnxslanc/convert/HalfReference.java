package io.onnxslanc.convert;

import java.math.BigDecimal;

/**
 * An independent float32 -> float16 / bfloat16 reference for tests: clamp, then pick the nearest
 * representable value by exact BigDecimal comparison over the table of all finite 16-bit values,
 * ties to the even bit pattern. Slow and obviously correct, nothing shared with the kernel.
 */
final class HalfReference {
    private static final BigDecimal[] HALF_VALUES = new BigDecimal[0x7C00]; // 0x0000 .. 0x7BFF, ascending
    private static final BigDecimal[] BF16_VALUES = new BigDecimal[0x7F80]; // 0x0000 .. 0x7F7F, ascending

    static {
        for (int h = 0; h < HALF_VALUES.length; h++) {
            int exp = h >> 10;
            int mant = h & 0x3FF;
            double v = exp == 0 ? Math.scalb((double) mant, -24) : Math.scalb((double) (1024 + mant), exp - 25);
            HALF_VALUES[h] = new BigDecimal(v);
        }
        for (int b = 0; b < BF16_VALUES.length; b++) {
            int exp = b >> 7;
            int mant = b & 0x7F;
            double v = exp == 0 ? Math.scalb((double) mant, -133) : Math.scalb((double) (128 + mant), exp - 134);
            BF16_VALUES[b] = new BigDecimal(v);
        }
    }

    private HalfReference() {
    }

    /** Float16 bits of {@code f} after clamping finite magnitudes to [minPositive, maxFinite] (0 disables low). */
    static short toHalf(float f, double maxFinite, double minPositive) {
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        if (Float.isNaN(f)) {
            return (short) 0x7E00;
        }
        if (Float.isInfinite(f)) {
            return (short) (sign | 0x7C00);
        }
        double a = Math.abs((double) f);
        if (a == 0) {
            return (short) sign;
        }
        if (a > maxFinite) {
            a = maxFinite;
        }
        if (a < minPositive) {
            a = minPositive;
        }
        return (short) (sign | nearest(new BigDecimal(a), HALF_VALUES, 0x7C00));
    }

    /** Bfloat16 bits of {@code f}, round to nearest even, no clamping. */
    static short toBFloat16(float f) {
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        if (Float.isNaN(f)) {
            return (short) (sign | 0x7FC0);
        }
        if (Float.isInfinite(f)) {
            return (short) (sign | 0x7F80);
        }
        double a = Math.abs((double) f);
        return (short) (sign | nearest(new BigDecimal(a), BF16_VALUES, 0x7F80));
    }

    /** Index of the nearest table value, ties to even; past the last value, RNE may give infinity. */
    private static int nearest(BigDecimal x, BigDecimal[] table, int infinity) {
        int lo = 0;
        int hi = table.length - 1;
        if (x.compareTo(table[hi]) >= 0) {
            // the next value after the largest finite one would be 2^(emax+1): infinity
            BigDecimal step = table[hi].subtract(table[hi - 1]);
            int c = x.compareTo(table[hi].add(step.divide(BigDecimal.valueOf(2))));
            return c < 0 ? hi : infinity; // a tie rounds to even: infinity's pattern is even
        }
        while (hi - lo > 1) { // invariant: table[lo] <= x < table[hi]
            int mid = (lo + hi) >>> 1;
            if (table[mid].compareTo(x) <= 0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        int c = x.subtract(table[lo]).compareTo(table[hi].subtract(x));
        if (c < 0) {
            return lo;
        }
        if (c > 0) {
            return hi;
        }
        return (lo & 1) == 0 ? lo : hi;
    }

    static boolean isHalfNaN(short h) {
        return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    }

    static boolean isBf16NaN(short b) {
        return (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0;
    }
}
