package io.onnxslanc.check.emulate;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.ir.Tensor;

import java.nio.ByteOrder;

/**
 * The FP16 rounding the emulation inserts: Cast(to=FLOAT16) -> Cast(to=FLOAT) pairs named emu_fp16_* (never
 * InsertedPrecisionFreeCast_*, the name ORT's own cast clean-up removes), and constants rounded as an FP16
 * converter stores them.
 */
final class CastPairs {
    static final String PREFIX = "emu_fp16_";

    private CastPairs() {}

    static float round(float v) {
        return FloatBits.roundTripHalf(v);
    }

    /**
     * A constant as an FP16 converter stores it: rounded to nearest, and finite values beyond +-65504 saturated to
     * +-65504 rather than made infinite (an infinite constant only makes NaN, e.g. 0 * -inf in an attention mask
     * built from float32's lowest value).
     */
    static float roundConstant(float v) {
        return Float.isFinite(v) && Math.abs(v) > 65504f ? Math.copySign(65504f, v) : round(v);
    }

    /** A FLOAT tensor with every value rounded as {@link #roundConstant} does (still stored as float32); others as they are. */
    static Tensor roundTensor(Tensor t) {
        if (t.dataType() != DataType.FLOAT) return t;
        float[] v = floats(t);
        for (int i = 0; i < v.length; i++) v[i] = roundConstant(v[i]);
        return ArrayTensor.ofFloats(t.dims(), v);
    }

    static float[] floats(Tensor t) {
        float[] v = new float[Math.toIntExact(t.elementCount())];
        t.read().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }
}
