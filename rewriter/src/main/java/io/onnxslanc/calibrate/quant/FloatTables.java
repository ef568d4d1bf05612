package io.onnxslanc.calibrate.quant;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.FloatBits;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Small float tensors (scales, float zero points) decoded once to float32. */
public final class FloatTables {
    private FloatTables() {
    }

    /** {@code count} little-endian FLOAT / FLOAT16 / BFLOAT16 values; null for another type. */
    public static float[] decode(ByteBuffer raw, DataType type, int count) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = switch (type) {
                case FLOAT -> b.getFloat(i * 4);
                case FLOAT16 -> FloatBits.halfToFloat(b.getShort(i * 2));
                case BFLOAT16 -> FloatBits.bfloat16ToFloat(b.getShort(i * 2));
                default -> throw new IllegalArgumentException("not a float type: " + type);
            };
        }
        return out;
    }

    public static boolean isFloat(DataType t) {
        return t == DataType.FLOAT || t == DataType.FLOAT16 || t == DataType.BFLOAT16;
    }
}
