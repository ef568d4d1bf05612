package io.onnxslanc.io;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A tensor stored inside the model file. raw_data aliases the memory-mapped model file (no copy);
 * the typed repeated fields (float_data, int64_data, ...) are decoded to little-endian bytes on demand.
 * The original proto is kept so an untouched tensor is written back exactly as it was read.
 */
public final class ProtoTensor implements Tensor {
    private final TensorProto proto;
    private final DataType type;
    private ByteBuffer decoded;

    public ProtoTensor(TensorProto proto) {
        this.proto = proto;
        this.type = DataType.fromCode(proto.getDataType());
    }

    public TensorProto proto() {
        return proto;
    }

    @Override
    public DataType dataType() {
        return type;
    }

    @Override
    public long[] dims() {
        return proto.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    @Override
    public long byteSize() {
        if (proto.hasRawData()) {
            return proto.getRawData().size();
        }
        return type == DataType.STRING ? 0 : type.byteSize(elementCount());
    }

    @Override
    public synchronized ByteBuffer read() {
        if (proto.hasRawData()) {
            return proto.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        if (decoded == null) {
            decoded = decodeTypedFields();
        }
        return decoded.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer decodeTypedFields() {
        if (type == DataType.STRING) {
            throw new IllegalStateException("string tensor " + proto.getName() + " has no raw byte form");
        }
        long count = elementCount();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(type.byteSize(count))).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case FLOAT -> proto.getFloatDataList().forEach(b::putFloat);
            case DOUBLE -> proto.getDoubleDataList().forEach(b::putDouble);
            case INT64 -> proto.getInt64DataList().forEach(b::putLong);
            case UINT64 -> proto.getUint64DataList().forEach(b::putLong);
            case UINT32 -> proto.getUint64DataList().forEach(v -> b.putInt((int) (long) v));
            case INT32 -> proto.getInt32DataList().forEach(b::putInt);
            case INT16, UINT16, FLOAT16, BFLOAT16 -> proto.getInt32DataList().forEach(v -> b.putShort((short) (int) v));
            case INT8, UINT8, BOOL, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0 ->
                    proto.getInt32DataList().forEach(v -> b.put((byte) (int) v));
            default -> throw new IllegalStateException("cannot decode " + type + " tensor " + proto.getName());
        }
        if (b.position() != b.limit()) {
            throw new IllegalStateException("tensor " + proto.getName() + " holds " + b.position() + " bytes of data, its shape needs " + b.limit());
        }
        b.flip();
        return b;
    }
}
