package io.onnxslanc.convert;

/**
 * What a float32 to FP16 conversion did to the values it was given.
 *
 * @param elements    number of values converted
 * @param clampedHigh finite values with |x| > maxFinite, written as ±maxFinite
 * @param clampedLow  nonzero values with |x| < minPositive, written as ±minPositive
 * @param nan         NaN values, kept as NaN
 * @param infinite    infinities, kept
 */
public record ClampStats(long elements, long clampedHigh, long clampedLow, long nan, long infinite) {

    public static final ClampStats EMPTY = new ClampStats(0, 0, 0, 0, 0);

    /** Sum of two conversions, e.g. of successive chunks of one tensor. */
    public ClampStats plus(ClampStats other) {
        return new ClampStats(elements + other.elements, clampedHigh + other.clampedHigh,
                clampedLow + other.clampedLow, nan + other.nan, infinite + other.infinite);
    }

    /** Number of values that were changed by clamping. */
    public long clamped() {
        return clampedHigh + clampedLow;
    }
}
