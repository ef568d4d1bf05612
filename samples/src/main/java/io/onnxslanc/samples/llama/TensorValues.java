package io.onnxslanc.samples.llama;

import java.io.IOException;
import java.nio.FloatBuffer;

/** A float32 tensor whose values are produced on demand, in chunks, so that large ones never sit in one array. */
public interface TensorValues {

    long[] dims();

    /** Hands all values, row-major, to the sink in one or more consecutive chunks. */
    void writeTo(FloatChunkSink sink) throws IOException;

    default long elementCount() {
        long n = 1;
        for (long d : dims()) n = Math.multiplyExact(n, d);
        return n;
    }

    static TensorValues of(long[] dims, float[] values) {
        long[] shape = dims.clone();
        return new TensorValues() {
            @Override public long[] dims() { return shape.clone(); }
            @Override public void writeTo(FloatChunkSink sink) throws IOException { sink.accept(FloatBuffer.wrap(values)); }
        };
    }
}
