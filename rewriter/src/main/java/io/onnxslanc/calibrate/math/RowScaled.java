package io.onnxslanc.calibrate.math;

/** diag(scale) A: a matrix with row i multiplied by scale[i], read block by block without a copy of A. */
final class RowScaled implements BlockSource {
    private final BlockSource a;
    private final double[] scale;

    RowScaled(BlockSource a, double[] scale) {
        if (scale.length != a.rows()) {
            throw new IllegalArgumentException(a.name() + ": " + scale.length + " row scales for " + a.rows() + " rows");
        }
        this.a = a;
        this.scale = scale.clone();
    }

    @Override
    public String name() {
        return a.name();
    }

    @Override
    public int rows() {
        return a.rows();
    }

    @Override
    public int cols() {
        return a.cols();
    }

    @Override
    public void copyBlock(int r0, int r1, int c0, int c1, double[] dst) {
        a.copyBlock(r0, r1, c0, c1, dst);
        int w = c1 - c0;
        for (int r = r0; r < r1; r++) {
            for (int j = 0, at = (r - r0) * w; j < w; j++, at++) {
                dst[at] *= scale[r];
            }
        }
    }

    @Override
    public void copyBlockColumnMajor(int r0, int r1, int c0, int c1, double[] dst) {
        a.copyBlockColumnMajor(r0, r1, c0, c1, dst);
        int h = r1 - r0;
        for (int c = 0; c < c1 - c0; c++) {
            for (int i = 0, at = c * h; i < h; i++, at++) {
                dst[at] *= scale[r0 + i];
            }
        }
    }

    @Override
    public boolean columnMajorStorage() {
        return a.columnMajorStorage();
    }
}
