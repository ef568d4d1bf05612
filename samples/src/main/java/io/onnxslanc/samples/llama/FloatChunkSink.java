package io.onnxslanc.samples.llama;

import java.io.IOException;
import java.nio.FloatBuffer;

/** Receives consecutive row-major chunks of a tensor's float32 values. */
@FunctionalInterface
public interface FloatChunkSink {
    /** The chunk's remaining values are consumed; the buffer may be reused by the caller afterwards. */
    void accept(FloatBuffer chunk) throws IOException;
}
