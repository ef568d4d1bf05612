package io.onnxslanc.calibrate.math;

/**
 * Two matrices side by side ([A1 | A2], same rows) or one above the other ([B1; B2], same columns), read block by
 * block without copying. A sum of two products is one product of joined factors: A1 B1 + A2 B2 = [A1 | A2] [B1; B2],
 * which is how a parallel attention + MLP block (W_o W_v + W_2 W_1) reuses the product kernels.
 */
final class JoinedBlocks implements BlockSource {
    private final BlockSource first;
    private final BlockSource second;
    private final boolean sideBySide;

    private JoinedBlocks(BlockSource first, BlockSource second, boolean sideBySide) {
        this.first = first;
        this.second = second;
        this.sideBySide = sideBySide;
    }

    /** [a1 | a2]: a1 and a2 must have the same rows. */
    static JoinedBlocks sideBySide(BlockSource a1, BlockSource a2) {
        if (a1.rows() != a2.rows()) {
            throw new IllegalArgumentException("'" + a1.name() + "' has " + a1.rows() + " rows, '" + a2.name() + "' has "
                    + a2.rows() + "; cannot place them side by side");
        }
        return new JoinedBlocks(a1, a2, true);
    }

    /** [b1; b2]: b1 and b2 must have the same columns. */
    static JoinedBlocks stacked(BlockSource b1, BlockSource b2) {
        if (b1.cols() != b2.cols()) {
            throw new IllegalArgumentException("'" + b1.name() + "' has " + b1.cols() + " columns, '" + b2.name() + "' has "
                    + b2.cols() + "; cannot stack them");
        }
        return new JoinedBlocks(b1, b2, false);
    }

    @Override
    public String name() {
        return first.name() + (sideBySide ? " | " : " ; ") + second.name();
    }

    @Override
    public int rows() {
        return sideBySide ? first.rows() : first.rows() + second.rows();
    }

    @Override
    public int cols() {
        return sideBySide ? first.cols() + second.cols() : first.cols();
    }

    @Override
    public boolean columnMajorStorage() {
        return first.columnMajorStorage();
    }

    @Override
    public void copyBlock(int r0, int r1, int c0, int c1, double[] dst) {
        copy(r0, r1, c0, c1, dst, false);
    }

    @Override
    public void copyBlockColumnMajor(int r0, int r1, int c0, int c1, double[] dst) {
        copy(r0, r1, c0, c1, dst, true);
    }

    /** Splits the block at the seam and places each part where it belongs in {@code dst}. */
    private void copy(int r0, int r1, int c0, int c1, double[] dst, boolean columnMajor) {
        int seam = sideBySide ? first.cols() : first.rows();
        int from = sideBySide ? c0 : r0;
        int to = sideBySide ? c1 : r1;
        if (to <= seam || from >= seam) {
            BlockSource part = to <= seam ? first : second;
            int shift = to <= seam ? 0 : seam;
            if (sideBySide) {
                read(part, r0, r1, c0 - shift, c1 - shift, dst, columnMajor);
            } else {
                read(part, r0 - shift, r1 - shift, c0, c1, dst, columnMajor);
            }
            return;
        }
        int height = r1 - r0;
        int width = c1 - c0;
        int h1 = sideBySide ? height : seam - r0;
        int w1 = sideBySide ? seam - c0 : width;
        int h2 = sideBySide ? height : r1 - seam;
        int w2 = sideBySide ? c1 - seam : width;
        double[] a = new double[h1 * w1];
        double[] b = new double[h2 * w2];
        if (sideBySide) {
            read(first, r0, r1, c0, seam, a, columnMajor);
            read(second, r0, r1, 0, c1 - seam, b, columnMajor);
        } else {
            read(first, r0, seam, c0, c1, a, columnMajor);
            read(second, 0, r1 - seam, c0, c1, b, columnMajor);
        }
        int rowOffset = sideBySide ? 0 : h1;
        int colOffset = sideBySide ? w1 : 0;
        place(a, h1, w1, 0, 0, height, dst, columnMajor, width);
        place(b, h2, w2, rowOffset, colOffset, height, dst, columnMajor, width);
    }

    private static void read(BlockSource s, int r0, int r1, int c0, int c1, double[] dst, boolean columnMajor) {
        if (columnMajor) {
            s.copyBlockColumnMajor(r0, r1, c0, c1, dst);
        } else {
            s.copyBlock(r0, r1, c0, c1, dst);
        }
    }

    /** Copies an h x w part (in the same order as dst) to rows rowOffset.., columns colOffset.. of dst. */
    private static void place(double[] part, int h, int w, int rowOffset, int colOffset, int height, double[] dst,
                              boolean columnMajor, int width) {
        for (int r = 0; r < h; r++) {
            for (int c = 0; c < w; c++) {
                double v = columnMajor ? part[c * h + r] : part[r * w + c];
                int rr = r + rowOffset;
                int cc = c + colOffset;
                if (columnMajor) {
                    dst[cc * height + rr] = v;
                } else {
                    dst[rr * width + cc] = v;
                }
            }
        }
    }
}
