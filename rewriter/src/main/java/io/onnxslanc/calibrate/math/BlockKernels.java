package io.onnxslanc.calibrate.math;

import java.util.Arrays;

/**
 * Dense kernels on blocks of vectors. A block of p vectors of length n is stored interleaved: element j of
 * vector q is x[j * p + q]. Each matrix element is then decoded once per pass and used p times, so the
 * passes are bound by arithmetic, not by reading (possibly memory-mapped, half-precision) weights.
 */
final class BlockKernels {

    /** Tile of the matrix decoded at once: 64 x 256 doubles = 128 KiB, with the 256 x p vector slice in L2. */
    static final int ROW_TILE = 64;
    static final int COL_TILE = 256;
    /** Rows per parallel task. */
    static final int ROWS_PER_TASK = 128;

    private static final ThreadLocal<double[]> TILE = ThreadLocal.withInitial(() -> new double[ROW_TILE * COL_TILE]);
    private static final ThreadLocal<double[]> SECOND_TILE = ThreadLocal.withInitial(() -> new double[ROW_TILE * COL_TILE]);

    private BlockKernels() {
    }

    /** y = a x for a block of p vectors (x: a.cols() x p, y: a.rows() x p, interleaved), parallel over rows. */
    static void multiply(BlockSource a, double[] x, int p, double[] y, WorkerPool pool) {
        int m = a.rows();
        int tasks = (m + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        pool.run(tasks, t -> multiplyRows(a, x, p, y, t * ROWS_PER_TASK, Math.min(m, (t + 1) * ROWS_PER_TASK)));
    }

    /** Rows [r0, r1) of y = a x; the summation order is fixed, whatever thread runs it. */
    static void multiplyRows(BlockSource a, double[] x, int p, double[] y, int r0, int r1) {
        int n = a.cols();
        double[] tile = TILE.get();
        Arrays.fill(y, r0 * p, r1 * p, 0.0);
        for (int i0 = r0; i0 < r1; i0 += ROW_TILE) {
            int i1 = Math.min(i0 + ROW_TILE, r1);
            for (int j0 = 0; j0 < n; j0 += COL_TILE) {
                int j1 = Math.min(j0 + COL_TILE, n);
                int width = j1 - j0;
                a.copyBlock(i0, i1, j0, j1, tile);
                for (int i = i0; i < i1; i++) {
                    int yOff = i * p;
                    int tOff = (i - i0) * width;
                    for (int j = 0; j < width; j++) {
                        double aij = tile[tOff + j];
                        int xOff = (j0 + j) * p;
                        for (int q = 0; q < p; q++) {
                            y[yOff + q] += aij * x[xOff + q];
                        }
                    }
                }
            }
        }
    }

    /**
     * diag(a b) where {@code bTransposed} is b^T (both m x k): d[i] = sum_k a[i, k] b[k, i]. One pass over each.
     */
    static double[] diagonalOfProduct(BlockSource a, BlockSource bTransposed, WorkerPool pool) {
        int m = a.rows();
        int k = a.cols();
        double[] diagonal = new double[m];
        int tasks = (m + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        pool.run(tasks, t -> {
            double[] ta = TILE.get();
            double[] tb = SECOND_TILE.get();
            int r1 = Math.min(m, (t + 1) * ROWS_PER_TASK);
            for (int i0 = t * ROWS_PER_TASK; i0 < r1; i0 += ROW_TILE) {
                int i1 = Math.min(i0 + ROW_TILE, r1);
                for (int j0 = 0; j0 < k; j0 += COL_TILE) {
                    int j1 = Math.min(j0 + COL_TILE, k);
                    int width = j1 - j0;
                    a.copyBlock(i0, i1, j0, j1, ta);
                    bTransposed.copyBlock(i0, i1, j0, j1, tb);
                    for (int i = i0; i < i1; i++) {
                        int off = (i - i0) * width;
                        double sum = 0;
                        for (int j = 0; j < width; j++) {
                            sum += ta[off + j] * tb[off + j];
                        }
                        diagonal[i] += sum;
                    }
                }
            }
        });
        return diagonal;
    }
}
