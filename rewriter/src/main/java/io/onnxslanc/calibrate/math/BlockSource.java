package io.onnxslanc.calibrate.math;

/** A matrix the kernels can read block by block, decoded to double (math layout, y = A x). */
interface BlockSource {

    /** Name used in error messages. */
    String name();

    int rows();

    int cols();

    /** Block rows [r0, r1) x columns [c0, c1) into dst, row-major with row stride (c1 - c0). */
    void copyBlock(int r0, int r1, int c0, int c1, double[] dst);
}
