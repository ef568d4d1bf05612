package io.onnxslanc.calibrate.math;

/** A matrix the kernels can read block by block, decoded to double (math layout, y = A x). */
interface BlockSource {

    /** Name used in error messages. */
    String name();

    int rows();

    int cols();

    /** Block rows [r0, r1) x columns [c0, c1) into dst, row-major: dst[(r - r0) * (c1 - c0) + (c - c0)]. */
    void copyBlock(int r0, int r1, int c0, int c1, double[] dst);

    /** The same block column-major: dst[(c - c0) * (r1 - r0) + (r - r0)]. */
    void copyBlockColumnMajor(int r0, int r1, int c0, int c1, double[] dst);

    /** True when column-major blocks are the cheap ones to read (the storage is the transpose of the math layout). */
    boolean columnMajorStorage();
}
