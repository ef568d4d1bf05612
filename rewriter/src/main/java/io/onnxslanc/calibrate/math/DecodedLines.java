package io.onnxslanc.calibrate.math;

/**
 * Stored elements of a weight that is not kept as floats (a quantized weight), decoded on request. Index i is
 * element (i / cols, i % cols) of the stored row-major matrix. Implementations must be safe to call from several
 * threads at once (the kernels split the rows among workers) and must not hold a decoded copy of the matrix.
 */
@FunctionalInterface
public interface DecodedLines {

    /** Decodes stored elements [storedIndex, storedIndex + len) as float32 into dst[off...]. */
    void read(int storedIndex, int len, float[] dst, int off);
}
