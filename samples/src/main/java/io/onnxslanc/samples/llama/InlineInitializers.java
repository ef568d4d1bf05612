package io.onnxslanc.samples.llama;

import com.google.protobuf.UnsafeByteOperations;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Initializers with their values in raw_data (little-endian float32), for models below 2 GiB. The
 * buffer is handed to protobuf without a copy: it is never touched again after wrapping.
 */
final class InlineInitializers implements InitializerStore {

    @Override
    public TensorProto add(String name, TensorValues values) throws IOException {
        long count = values.elementCount();
        if (4 * count > Integer.MAX_VALUE - 16) {
            throw new IOException("tensor " + name + " (" + 4 * count + " bytes) is too large for an inline initializer; use external data");
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) (4 * count)).order(ByteOrder.LITTLE_ENDIAN);
        values.writeTo(chunk -> {
            int n = chunk.remaining();
            if (4L * n > bytes.remaining()) throw new IOException("tensor " + name + " produced more than " + count + " values");
            bytes.asFloatBuffer().put(chunk);
            bytes.position(bytes.position() + 4 * n);
        });
        if (bytes.hasRemaining()) throw new IOException("tensor " + name + " produced fewer than " + count + " values");
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : values.dims()) t.addDims(d);
        return t.setRawData(UnsafeByteOperations.unsafeWrap(bytes.array())).build();
    }
}
