package io.onnxslanc.rewrite;

import io.onnxslanc.convert.HalfFloats;
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
                case FLOAT16 -> b.putShort(HalfFloats.toHalf((float) v));
                case BFLOAT16 -> b.putShort(HalfFloats.toBFloat16((float) v));
                default -> throw new IllegalArgumentException("cannot encode a float constant as " + type);
            }
        }
        b.flip();
        return new ArrayTensor(type, dims, b);
    }
}
