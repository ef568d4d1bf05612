package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Streams initializers into ONE external data file, each tensor starting at a 64-byte aligned
 * offset, and returns TensorProtos that point at it (data_location EXTERNAL, external_data
 * location/offset/length, location relative to the model's folder).
 */
final class ExternalDataWriter implements InitializerStore, Closeable {

    static final int ALIGNMENT = 64;

    private final FileChannel out;
    private final String location;
    private final ByteBuffer staging = ByteBuffer.allocateDirect(4 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private long position;

    /**
     * @param file     where the bytes go now (may be a temporary file)
     * @param location the data file's name as the model will refer to it, relative to the model's folder
     */
    ExternalDataWriter(Path file, String location) throws IOException {
        this.out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        this.location = location;
    }

    @Override
    public TensorProto add(String name, TensorValues values) throws IOException {
        long count = values.elementCount();
        long start = (position + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        position = start;
        long[] written = {0};
        values.writeTo(chunk -> {
            written[0] += chunk.remaining();
            if (written[0] > count) throw new IOException("tensor " + name + " produced more than " + count + " values");
            write(chunk);
        });
        if (written[0] != count) throw new IOException("tensor " + name + " produced " + written[0] + " of " + count + " values");
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : values.dims()) t.addDims(d);
        return t.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", location))
                .addExternalData(entry("offset", Long.toString(start)))
                .addExternalData(entry("length", Long.toString(4 * count)))
                .build();
    }

    /** Appends raw little-endian bytes as a tensor of {@code dataType} (quantized weights). */
    TensorProto addBytes(String name, int dataType, long[] dims, java.nio.ByteBuffer bytes) throws IOException {
        long start = (position + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        position = start;
        long length = bytes.remaining();
        while (bytes.hasRemaining()) position += out.write(bytes, position);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(dataType);
        for (long d : dims) t.addDims(d);
        return t.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", location))
                .addExternalData(entry("offset", Long.toString(start)))
                .addExternalData(entry("length", Long.toString(length)))
                .build();
    }

    private void write(FloatBuffer chunk) throws IOException {
        while (chunk.hasRemaining()) {
            staging.clear();
            FloatBuffer view = staging.asFloatBuffer();
            int n = Math.min(view.remaining(), chunk.remaining());
            FloatBuffer part = chunk.slice().limit(n);
            view.put(part);
            chunk.position(chunk.position() + n);
            staging.limit(4 * n);
            while (staging.hasRemaining()) position += out.write(staging, position);
        }
    }

    /** Bytes written so far (end of the last tensor). */
    long size() {
        return position;
    }

    void force() throws IOException {
        out.force(true);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
