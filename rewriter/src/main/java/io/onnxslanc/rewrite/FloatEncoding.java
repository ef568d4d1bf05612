package io.onnxslanc.rewrite;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Encodes the few constants the rewrite creates (scales, epsilons, biases) in the element type they must have. */
final class FloatEncoding {
    private FloatEncoding() {
    }

    static boolean supports(DataType t) {
        return t == DataType.FLOAT || t == DataType.FLOAT16 || t == DataType.BFLOAT16 || t == DataType.DOUBLE;
    }

    /** A tensor of {@code type} holding {@code values} rounded to nearest even. */
    static ArrayTensor tensor(DataType type, long[] dims, double... values) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(type.byteSize(values.length))).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            switch (type) {
                case FLOAT -> b.putFloat((float) v);
                case DOUBLE -> b.putDouble(v);
                case FLOAT16 -> b.putShort(floatToHalf((float) v));
                case BFLOAT16 -> b.putShort(floatToBfloat16((float) v));
                default -> throw new IllegalArgumentException("cannot encode a float constant as " + type);
            }
        }
        b.flip();
        return new ArrayTensor(type, dims, b);
    }

    /** IEEE binary16, round to nearest even; overflow to infinity, underflow through subnormals to zero. */
    static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00);
        }
        if (abs >= 0x477ff000) { // 65520 and above round to infinity
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x38800000) { // below 2^-14: subnormal, in units of 2^-24 (exact in double, rint = ties to even)
            int m = (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24);
            return (short) (sign | m);
        }
        int exp = (abs >>> 23) - 127 + 15;
        int mant = abs & 0x7fffff;
        int half = (exp << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || rest == 0x1000 && (half & 1) == 1) {
            half++; // a carry into the exponent is the right result
        }
        return (short) (sign | half);
    }

    /** bfloat16 (upper half of a float32), round to nearest even. */
    static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
