package io.onnxslanc.check.inputs;

import ai.onnxruntime.platform.Fp16Conversions;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The values of an inline TensorProto (raw_data or the typed fields) as a {@link TensorData}. */
public final class TensorProtoValues {
    private TensorProtoValues() {
    }

    /** {@code where} names the file or tensor in messages. */
    public static TensorData of(TensorProto t, String where) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new IllegalArgumentException(where + ": tensor keeps its data in an external file; store it inline");
        }
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long count = TensorData.elementCount(shape);
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(where + ": tensor of " + count + " elements is too large");
        }
        int n = (int) count;
        DataType type = DataType.forNumber(t.getDataType());
        if (type == null) {
            throw new IllegalArgumentException(where + ": unknown element type " + t.getDataType());
        }
        boolean raw = !t.getRawData().isEmpty() || n == 0;
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        int width = switch (type) {
            case FLOAT, INT32, UINT32 -> 4;
            case DOUBLE, INT64, UINT64 -> 8;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
            case BOOL, INT8, UINT8 -> 1;
            default -> throw new IllegalArgumentException(where + ": element type " + type + " is not supported as a "
                    + "model input here (use a numeric or bool tensor)");
        };
        if (raw && b.remaining() != (long) n * width) {
            throw new IllegalArgumentException(where + ": " + type + " tensor of shape " + java.util.Arrays.toString(shape)
                    + " needs " + (long) n * width + " bytes, raw_data holds " + b.remaining());
        }
        if (!raw && typedCount(t, type) != n) {
            throw new IllegalArgumentException(where + ": " + type + " tensor of shape " + java.util.Arrays.toString(shape)
                    + " needs " + n + " values, it holds " + typedCount(t, type));
        }
        switch (type) {
            case FLOAT, DOUBLE, FLOAT16, BFLOAT16 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = raw ? rawFloat(b, type) : typedFloat(t, type, i);
                }
                return TensorData.ofFloats(shape, f);
            }
            default -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = raw ? rawLong(b, type) : typedLong(t, type, i);
                }
                return TensorData.ofLongs(shape, l);
            }
        }
    }

    private static int typedCount(TensorProto t, DataType type) {
        return switch (type) {
            case FLOAT -> t.getFloatDataCount();
            case DOUBLE -> t.getDoubleDataCount();
            case INT64 -> t.getInt64DataCount();
            case UINT32, UINT64 -> t.getUint64DataCount();
            default -> t.getInt32DataCount();
        };
    }

    private static float rawFloat(ByteBuffer b, DataType type) {
        return switch (type) {
            case FLOAT -> b.getFloat();
            case DOUBLE -> (float) b.getDouble();
            case FLOAT16 -> Fp16Conversions.fp16ToFloat(b.getShort());
            default -> Fp16Conversions.bf16ToFloat(b.getShort());
        };
    }

    private static float typedFloat(TensorProto t, DataType type, int i) {
        return switch (type) {
            case FLOAT -> t.getFloatData(i);
            case DOUBLE -> (float) t.getDoubleData(i);
            case FLOAT16 -> Fp16Conversions.fp16ToFloat((short) t.getInt32Data(i));
            default -> Fp16Conversions.bf16ToFloat((short) t.getInt32Data(i));
        };
    }

    private static long rawLong(ByteBuffer b, DataType type) {
        return switch (type) {
            case INT64, UINT64 -> b.getLong();
            case INT32 -> b.getInt();
            case UINT32 -> b.getInt() & 0xffffffffL;
            case INT16 -> b.getShort();
            case UINT16 -> b.getShort() & 0xffff;
            case INT8 -> b.get();
            default -> b.get() & 0xff; // UINT8, BOOL
        };
    }

    private static long typedLong(TensorProto t, DataType type, int i) {
        return switch (type) {
            case INT64 -> t.getInt64Data(i);
            case UINT32, UINT64 -> t.getUint64Data(i);
            default -> t.getInt32Data(i);
        };
    }
}
