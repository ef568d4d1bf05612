package io.onnxslanc.calibrate.math;

import java.util.Arrays;

/**
 * Dense kernels on blocks of vectors. A block of p vectors of length n is stored interleaved: element j of
 * vector q is x[j * p + q]. Each matrix element is then decoded once per pass and used p times, so the
 * passes are bound by arithmetic, not by reading (possibly memory-mapped, half-precision) weights.
 */
final class BlockKernels {

    /**
     * Tile of the matrix decoded at once: 16K doubles = 128 KiB, fits L2 with the vector slice. 32 x 512 for
     * row-major storage, 512 x 32 for column-major storage, so that storage is read in runs of 512 elements
     * (shorter runs cost measurably more per element when decoding).
     */
    static final int ROW_TILE = 32;
    static final int COL_TILE = 512;
    /** Rows per parallel task (a multiple of both tile heights). */
    static final int ROWS_PER_TASK = 512;

    private static final ThreadLocal<double[]> TILE = ThreadLocal.withInitial(() -> new double[ROW_TILE * COL_TILE]);
    private static final ThreadLocal<double[]> SECOND_TILE = ThreadLocal.withInitial(() -> new double[ROW_TILE * COL_TILE]);

    private BlockKernels() {
    }

    /** y = a x for a block of p vectors (x: a.cols() x p, y: a.rows() x p, interleaved), parallel over rows. */
    static void multiply(BlockSource a, double[] x, int p, double[] y, WorkerPool pool) {
        if (p == 1) {
            multiplyVector(a, x, y, pool);
            return;
        }
        int m = a.rows();
        if (a.columnMajorStorage()) {
            columnKernelBlocks(m, p, pool, (r0, r1) -> multiplyByColumns(a, x, p, y, r0, r1));
            return;
        }
        double[] packed = pack(x, a.cols(), p);
        int tasks = (m + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        pool.run(tasks, t -> multiplyRows(a, packed, p, y, t * ROWS_PER_TASK, Math.min(m, (t + 1) * ROWS_PER_TASK)));
    }

    /**
     * Rows of y per call of {@link #multiplyByColumns}: its p accumulator rows of that length stay within 256 KiB
     * (L2), at most {@link #ROWS_PER_TASK}, at least 64 (the loops are long enough to run in vector registers).
     */
    private static int columnKernelRows(int p) {
        return Math.max(64, Math.min(ROWS_PER_TASK, (1 << 15) / Math.max(1, p)));
    }

    /** Rows [r0, r1) of a product. */
    interface RowRange {
        void accept(int r0, int r1);
    }

    /**
     * Splits rows [0, m) of a product of p vectors into {@link #columnKernelRows} blocks, run on {@code pool}, or one
     * after the other on this thread when {@code pool} is null.
     */
    static void columnKernelBlocks(int m, int p, WorkerPool pool, RowRange block) {
        int rows = columnKernelRows(p);
        int tasks = (m + rows - 1) / rows;
        if (pool == null) {
            for (int t = 0; t < tasks; t++) {
                block.accept(t * rows, Math.min(m, (t + 1) * rows));
            }
        } else {
            pool.run(tasks, t -> block.accept(t * rows, Math.min(m, (t + 1) * rows)));
        }
    }

    /** Four line buffers of at least {@code length} doubles, this thread's own (grown when too short). */
    private static double[][] doubleLines(ThreadLocal<double[][]> local, int length) {
        return Scratch.atLeast(local, length, l -> l[0].length, n -> new double[VECTOR_LINES][n]);
    }

    /** As {@link #doubleLines}, in float32. */
    private static float[][] floatLines(ThreadLocal<float[][]> local, int length) {
        return Scratch.atLeast(local, length, l -> l[0].length, n -> new float[VECTOR_LINES][n]);
    }

    private static final ThreadLocal<double[][]> COLUMN_LINES = new ThreadLocal<>();

    /**
     * Rows [r0, r1) of y = a x for column-major storage (x: cols x p, y: rows x p, interleaved), as column updates
     * y[:, q] += x[j, q] a[:, j]: loops without a reduction, each array indexed alike, which the JIT turns into
     * vector instructions (a dot product per row stays scalar: about 5x slower per multiply-add here). Each stored
     * column is decoded once and used for all p vectors. Every element of y is summed over j in order by one call:
     * the result does not depend on how rows are split between threads.
     */
    static void multiplyByColumns(BlockSource a, double[] x, int p, double[] y, int r0, int r1) {
        int n = a.cols();
        int h = r1 - r0;
        double[][] lines = doubleLines(COLUMN_LINES, h);
        double[][] sums = new double[p][h];
        double[] l0 = lines[0], l1 = lines[1], l2 = lines[2], l3 = lines[3];
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            a.copyBlockColumnMajor(r0, r1, j, j + 1, l0);
            a.copyBlockColumnMajor(r0, r1, j + 1, j + 2, l1);
            a.copyBlockColumnMajor(r0, r1, j + 2, j + 3, l2);
            a.copyBlockColumnMajor(r0, r1, j + 3, j + 4, l3);
            int x0 = j * p;
            for (int q = 0; q < p; q++) {
                addFour(sums[q], l0, l1, l2, l3, x[x0 + q], x[x0 + p + q], x[x0 + 2 * p + q], x[x0 + 3 * p + q], 0, h);
            }
        }
        for (; j < n; j++) {
            a.copyBlockColumnMajor(r0, r1, j, j + 1, l0);
            for (int q = 0; q < p; q++) {
                addOne(sums[q], l0, x[j * p + q], 0, h);
            }
        }
        for (int q = 0; q < p; q++) {
            double[] s = sums[q];
            for (int i = 0; i < h; i++) {
                y[(r0 + i) * p + q] = s[i];
            }
        }
    }

    /**
     * y = a x like {@link #multiply}, for random probes: a weight stored column-major is read as float32 and summed
     * in float32 (twice the vector lanes, no decoding to double), whose rounding (about 1e-6 relative) is far below
     * the probing's own error (the report's relative standard error, ~1e-3). Other sources go through
     * {@link #multiply}. Stored floats are read unchecked: a NaN or infinity shows as a non-finite product, which the
     * caller checks (see {@link ProductFrobenius#estimate}).
     */
    static void multiplyProbes(BlockSource a, double[] x, int p, double[] y, WorkerPool pool) {
        if (!(a instanceof MatrixView view) || !view.columnMajorStorage() || p < 2) {
            multiply(a, x, p, y, pool);
            return;
        }
        float[] xf = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            xf[i] = (float) x[i];
        }
        columnKernelBlocks(a.rows(), p, pool, (r0, r1) -> multiplyFloatColumns(view, xf, p, y, r0, r1));
    }

    private static final ThreadLocal<float[][]> FLOAT_COLUMNS = new ThreadLocal<>();

    /** {@link #multiplyByColumns} in float32 on the stored floats (see {@link #multiplyProbes}). */
    private static void multiplyFloatColumns(MatrixView a, float[] x, int p, double[] y, int r0, int r1) {
        int n = a.cols();
        int m = a.rows(); // stored line length: a column of the math layout
        int h = r1 - r0;
        float[][] lines = floatLines(FLOAT_COLUMNS, h);
        float[][] sums = new float[p][h];
        float[] l0 = lines[0], l1 = lines[1], l2 = lines[2], l3 = lines[3];
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            a.readStoredFloats(j * m + r0, h, l0, 0);
            a.readStoredFloats((j + 1) * m + r0, h, l1, 0);
            a.readStoredFloats((j + 2) * m + r0, h, l2, 0);
            a.readStoredFloats((j + 3) * m + r0, h, l3, 0);
            int x0 = j * p;
            for (int q = 0; q < p; q++) {
                float[] s = sums[q];
                float s0 = x[x0 + q], s1 = x[x0 + p + q], s2 = x[x0 + 2 * p + q], s3 = x[x0 + 3 * p + q];
                for (int i = 0; i < h; i++) {
                    s[i] += l0[i] * s0 + l1[i] * s1 + l2[i] * s2 + l3[i] * s3;
                }
            }
        }
        for (; j < n; j++) {
            a.readStoredFloats(j * m + r0, h, l0, 0);
            for (int q = 0; q < p; q++) {
                float[] s = sums[q];
                float s0 = x[j * p + q];
                for (int i = 0; i < h; i++) {
                    s[i] += l0[i] * s0;
                }
            }
        }
        for (int q = 0; q < p; q++) {
            float[] s = sums[q];
            for (int i = 0; i < h; i++) {
                y[(r0 + i) * p + q] = s[i];
            }
        }
    }

    /** y[i] += a0[i] s0 + a1[i] s1 + a2[i] s2 + a3[i] s3 for i in [from, to): one vectorised loop. */
    static void addFour(double[] y, double[] a0, double[] a1, double[] a2, double[] a3,
                        double s0, double s1, double s2, double s3, int from, int to) {
        for (int i = from; i < to; i++) {
            y[i] += a0[i] * s0 + a1[i] * s1 + a2[i] * s2 + a3[i] * s3;
        }
    }

    /** y[i] += a[i] s for i in [from, to). */
    static void addOne(double[] y, double[] a, double s, int from, int to) {
        for (int i = from; i < to; i++) {
            y[i] += a[i] * s;
        }
    }

    /** Stored rows decoded together by the single-vector kernels. */
    private static final int VECTOR_LINES = 4;
    /** Columns per task of the single-vector kernel on column-major storage. */
    private static final int COLUMNS_PER_TASK = 256;
    private static final ThreadLocal<double[]> LINES = ThreadLocal.withInitial(() -> new double[0]);

    /**
     * y = a x for one vector (a block of one: a single exact row). With one multiply-add per element the cost is reading, so
     * whole stored rows are decoded in storage order: dot products along rows for row-major storage; for
     * column-major storage y += x_j a[:, j] with partial sums per fixed column range, added up in order.
     */
    static void multiplyVector(BlockSource a, double[] x, double[] y, WorkerPool pool) {
        int m = a.rows();
        int n = a.cols();
        if (!a.columnMajorStorage()) {
            overRowBlocks(a, pool, (i, h, lines) -> {
                for (int r = 0; r < h; r++) {
                    y[i + r] = dot(lines, r * n, x, n);
                }
            });
            return;
        }
        double[] sum = overColumnBlocks(a, pool, (j, w, lines, partial) -> {
            if (w == 4) {
                double x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
                for (int i = 0; i < m; i++) {
                    partial[i] += lines[i] * x0 + lines[m + i] * x1 + lines[2 * m + i] * x2 + lines[3 * m + i] * x3;
                }
                return;
            }
            for (int c = 0; c < w; c++) {
                double xc = x[j + c];
                for (int i = 0; i < m; i++) {
                    partial[i] += lines[c * m + i] * xc;
                }
            }
        });
        System.arraycopy(sum, 0, y, 0, m);
    }

    /** ||a_i||^2 for every math row i, one pass in storage order (fixed partial sums: thread-count independent). */
    static double[] rowSquaredNorms(BlockSource a, WorkerPool pool) {
        if (a instanceof MatrixView view && view.columnMajorStorage()) {
            return rowSquaredNormsFloat(view, pool);
        }
        int m = a.rows();
        int n = a.cols();
        if (!a.columnMajorStorage()) {
            double[] norms = new double[m];
            overRowBlocks(a, pool, (i, h, lines) -> {
                for (int r = 0; r < h; r++) {
                    norms[i + r] = dot(lines, r * n, lines, r * n, n);
                }
            });
            return norms;
        }
        return overColumnBlocks(a, pool, (j, w, lines, partial) -> {
            for (int c = 0; c < w; c++) {
                int off = c * m;
                for (int i = 0; i < m; i++) {
                    partial[i] += lines[off + i] * lines[off + i];
                }
            }
        });
    }

    private static final ThreadLocal<float[]> NORM_FLOATS = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * {@link #rowSquaredNorms} of a transposed view (the ONNX MatMul layout) from the stored floats, unchecked and
     * vectorised: float squares summed in float over a task's {@value #COLUMNS_PER_TASK} stored lines (relative
     * error ~1e-6), tasks added in double in task order. The norms only pick the outstanding rows of the probing,
     * so float precision is plenty; the checked double decoding took longer than the probe product it serves. A
     * NaN or infinity gives a non-finite norm, and the probing then checks the weight.
     */
    private static double[] rowSquaredNormsFloat(MatrixView a, WorkerPool pool) {
        int m = a.rows(); // stored line length
        int n = a.cols(); // stored lines
        int tasks = (n + COLUMNS_PER_TASK - 1) / COLUMNS_PER_TASK;
        float[][] partial = new float[tasks][];
        pool.run(tasks, t -> {
            float[] f = Scratch.floats(NORM_FLOATS, VECTOR_LINES * m);
            float[] sum = new float[m];
            int c1 = Math.min(n, (t + 1) * COLUMNS_PER_TASK);
            for (int j = t * COLUMNS_PER_TASK; j < c1; j += VECTOR_LINES) {
                int w = Math.min(VECTOR_LINES, c1 - j);
                a.readStoredFloats(j * m, w * m, f, 0);
                if (w == VECTOR_LINES) {
                    for (int i = 0; i < m; i++) {
                        float v0 = f[i], v1 = f[m + i], v2 = f[2 * m + i], v3 = f[3 * m + i];
                        sum[i] += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3;
                    }
                } else {
                    for (int r = 0; r < w; r++) {
                        for (int i = 0, o = r * m; i < m; i++) {
                            sum[i] += f[o + i] * f[o + i];
                        }
                    }
                }
            }
            partial[t] = sum;
        });
        double[] total = new double[m];
        for (float[] p : partial) {
            for (int i = 0; i < m; i++) {
                total[i] += p[i];
            }
        }
        return total;
    }

    /** Rows [first, first + count) of a row-major view, decoded row after row into {@code lines}. */
    private interface RowBlock {
        void accept(int first, int count, double[] lines);
    }

    /** Columns [first, first + count) of a column-major view, decoded column after column; adds into {@code sum}. */
    private interface ColumnBlock {
        void accept(int first, int count, double[] lines, double[] sum);
    }

    /** Walks a row-major view in blocks of {@value #VECTOR_LINES} rows, {@link #ROWS_PER_TASK} rows per task. */
    private static void overRowBlocks(BlockSource a, WorkerPool pool, RowBlock f) {
        int m = a.rows();
        int n = a.cols();
        int tasks = (m + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        pool.run(tasks, t -> {
            double[] lines = lines(VECTOR_LINES * n);
            int r1 = Math.min(m, (t + 1) * ROWS_PER_TASK);
            for (int i = t * ROWS_PER_TASK; i < r1; i += VECTOR_LINES) {
                int h = Math.min(VECTOR_LINES, r1 - i);
                a.copyBlock(i, i + h, 0, n, lines);
                f.accept(i, h, lines);
            }
        });
    }

    /**
     * Walks a column-major view in blocks of {@value #VECTOR_LINES} columns; each task of {@link #COLUMNS_PER_TASK}
     * columns sums into its own vector of length rows, and those are added in task order (thread-count independent).
     */
    private static double[] overColumnBlocks(BlockSource a, WorkerPool pool, ColumnBlock f) {
        int m = a.rows();
        int n = a.cols();
        int tasks = (n + COLUMNS_PER_TASK - 1) / COLUMNS_PER_TASK;
        if (tasks == 0) {
            return new double[m];
        }
        double[][] partial = new double[tasks][];
        pool.run(tasks, t -> {
            double[] lines = lines(VECTOR_LINES * m);
            double[] sum = new double[m];
            int c1 = Math.min(n, (t + 1) * COLUMNS_PER_TASK);
            for (int j = t * COLUMNS_PER_TASK; j < c1; j += VECTOR_LINES) {
                int w = Math.min(VECTOR_LINES, c1 - j);
                a.copyBlockColumnMajor(0, m, j, j + w, lines);
                f.accept(j, w, lines, sum);
            }
            partial[t] = sum;
        });
        double[] total = partial[0];
        for (int t = 1; t < tasks; t++) {
            for (int i = 0; i < m; i++) {
                total[i] += partial[t][i];
            }
        }
        return total;
    }

    /** Stored lines per task of {@link #gramVector}: fixed, so the summation order is the same for any thread count. */
    static final int GRAM_LINES_PER_TASK = 256;

    /**
     * y = sum over stored lines l of weight_l * l (l . x), one reading pass: each stored line (a stored row: a math
     * row of a row-major view, a math column of a transposed view) is read once as float32 and used twice from
     * cache, with double sums. That is y = A^T A x (length cols, weights must be null) for row-major storage, and
     * y = A diag(weight) A^T x (length rows, weights null = 1) for column-major storage. Half the reading of a
     * multiply by A then A^T, and no decoding to double (which cost as much as the arithmetic). Lines are read
     * unchecked: a NaN or infinity makes y non-finite, which the caller checks (see {@link SpectralNorm}).
     */
    static void gramVector(MatrixView a, double[] weights, double[] x, double[] y, WorkerPool pool) {
        boolean columnLines = a.columnMajorStorage();
        int count = columnLines ? a.cols() : a.rows();
        int length = columnLines ? a.rows() : a.cols();
        if (!columnLines && weights != null) {
            throw new IllegalArgumentException("line weights are only supported for column-major storage");
        }
        int tasks = (count + GRAM_LINES_PER_TASK - 1) / GRAM_LINES_PER_TASK;
        double[][] partial = new double[tasks][];
        pool.run(tasks, t -> partial[t] = gramLines(a, weights, x, length, t * GRAM_LINES_PER_TASK,
                Math.min(count, (t + 1) * GRAM_LINES_PER_TASK)));
        System.arraycopy(partial[0], 0, y, 0, length); // task sums in task order: the same for any thread count
        for (int t = 1; t < tasks; t++) {
            double[] sum = partial[t];
            for (int i = 0; i < length; i++) {
                y[i] += sum[i];
            }
        }
    }

    /**
     * As {@link #gramVector}, in float32 for the large weights where the Lanczos step limit binds: every line read
     * once into a float buffer, eight lines at a time, with eight independent float dot products (one add chain per
     * line, so eight chains hide the add latency) and one vectorised float update of the task's sum. About 2.3x
     * fewer nanoseconds per element than the double kernel, whose float-to-double decoding and double line copies
     * dominate. Rounding: each dot product of n terms carries a relative error of about sqrt(n) 6e-8 (4.5e-6 for
     * n = 5632), each task sum over 256 lines about 1e-6; the task sums are added in double in task order, so the
     * result does not depend on the thread count. That moves the Ritz value by ~1e-6 relative, three orders below
     * the Lanczos tolerance and far below the probing's error in the same scale.
     */
    static void gramVectorFloat(MatrixView a, double[] weights, double[] x, double[] y, WorkerPool pool) {
        boolean columnLines = a.columnMajorStorage();
        int count = columnLines ? a.cols() : a.rows();
        int length = columnLines ? a.rows() : a.cols();
        if (!columnLines && weights != null) {
            throw new IllegalArgumentException("line weights are only supported for column-major storage");
        }
        float[] xf = new float[length];
        for (int i = 0; i < length; i++) {
            xf[i] = (float) x[i];
        }
        float[] wf = null;
        if (weights != null) {
            wf = new float[weights.length];
            for (int i = 0; i < weights.length; i++) {
                wf[i] = (float) weights[i];
            }
        }
        float[] lineWeights = wf;
        int tasks = (count + GRAM_LINES_PER_TASK - 1) / GRAM_LINES_PER_TASK;
        float[][] partial = new float[tasks][];
        pool.run(tasks, t -> partial[t] = gramLinesFloat(a, lineWeights, xf, length, t * GRAM_LINES_PER_TASK,
                Math.min(count, (t + 1) * GRAM_LINES_PER_TASK)));
        for (int i = 0; i < length; i++) {
            y[i] = partial[0][i];
        }
        for (int t = 1; t < tasks; t++) { // task sums in task order: the same for any thread count
            float[] sum = partial[t];
            for (int i = 0; i < length; i++) {
                y[i] += sum[i];
            }
        }
    }

    /** Whether no element is NaN or infinite (the kernels' late finiteness check, see {@link SpectralNorm}). */
    static boolean allFinite(double[] values) {
        for (double v : values) {
            if (!Double.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    /** Lines decoded together by {@link #gramLinesFloat}. */
    private static final int FLOAT_GRAM_LINES = 8;

    /** The {@link #gramVectorFloat} sum over stored lines [l0, l1). */
    private static float[] gramLinesFloat(MatrixView a, float[] weights, float[] x, int length, int l0, int l1) {
        float[] f = Scratch.floats(GRAM_FLOATS, FLOAT_GRAM_LINES * length);
        float[] sum = new float[length];
        float[] c = new float[FLOAT_GRAM_LINES];
        for (int l = l0; l < l1; l += FLOAT_GRAM_LINES) {
            int h = Math.min(FLOAT_GRAM_LINES, l1 - l);
            a.readStoredFloats(l * length, h * length, f, 0);
            if (h == FLOAT_GRAM_LINES) {
                dotEight(f, length, x, c);
            } else {
                for (int r = 0; r < h; r++) {
                    float dot = 0;
                    for (int i = 0, o = r * length; i < length; i++) {
                        dot += f[o + i] * x[i];
                    }
                    c[r] = dot;
                }
            }
            for (int r = 0; r < h; r++) {
                c[r] *= weights == null ? 1f : weights[l + r];
            }
            if (h == FLOAT_GRAM_LINES) {
                addEight(sum, f, length, c);
            } else {
                for (int r = 0; r < h; r++) {
                    float cr = c[r];
                    for (int i = 0, o = r * length; i < length; i++) {
                        sum[i] += f[o + i] * cr;
                    }
                }
            }
        }
        return sum;
    }

    /** c[r] = line r . x for the eight lines of length n stored one after another in f: eight add chains. */
    private static void dotEight(float[] f, int n, float[] x, float[] c) {
        int o1 = n, o2 = 2 * n, o3 = 3 * n, o4 = 4 * n, o5 = 5 * n, o6 = 6 * n, o7 = 7 * n;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int i = 0; i < n; i++) {
            float xi = x[i];
            s0 += f[i] * xi;
            s1 += f[o1 + i] * xi;
            s2 += f[o2 + i] * xi;
            s3 += f[o3 + i] * xi;
            s4 += f[o4 + i] * xi;
            s5 += f[o5 + i] * xi;
            s6 += f[o6 + i] * xi;
            s7 += f[o7 + i] * xi;
        }
        c[0] = s0;
        c[1] = s1;
        c[2] = s2;
        c[3] = s3;
        c[4] = s4;
        c[5] = s5;
        c[6] = s6;
        c[7] = s7;
    }

    /** sum[i] += sum over r of c[r] line_r[i] for the eight lines of length n in f: one vectorised loop. */
    private static void addEight(float[] sum, float[] f, int n, float[] c) {
        float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5], c6 = c[6], c7 = c[7];
        int o1 = n, o2 = 2 * n, o3 = 3 * n, o4 = 4 * n, o5 = 5 * n, o6 = 6 * n, o7 = 7 * n;
        for (int i = 0; i < n; i++) {
            sum[i] += f[i] * c0 + f[o1 + i] * c1 + f[o2 + i] * c2 + f[o3 + i] * c3
                    + f[o4 + i] * c4 + f[o5 + i] * c5 + f[o6 + i] * c6 + f[o7 + i] * c7;
        }
    }

    private static final ThreadLocal<float[]> GRAM_FLOATS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<double[][]> GRAM_LINES = new ThreadLocal<>();

    /**
     * The {@link #gramVector} sum over stored lines [l0, l1), four lines at a time: one scalar loop takes the four
     * dot products with x and keeps the lines decoded to double, then one vectorised loop adds them to the sum
     * (a float-times-double update does not vectorise; the conversion inside the dot loop is nearly free).
     */
    private static double[] gramLines(MatrixView a, double[] weights, double[] x, int length, int l0, int l1) {
        float[] floats = Scratch.floats(GRAM_FLOATS, VECTOR_LINES * length);
        double[][] lines = doubleLines(GRAM_LINES, length);
        double[] d0 = lines[0], d1 = lines[1], d2 = lines[2], d3 = lines[3];
        double[] sum = new double[length];
        for (int l = l0; l < l1; l += VECTOR_LINES) {
            int h = Math.min(VECTOR_LINES, l1 - l);
            a.readStoredFloats(l * length, h * length, floats, 0);
            if (h == 4) {
                int o1 = length, o2 = 2 * length, o3 = 3 * length;
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int i = 0; i < length; i++) {
                    double xi = x[i];
                    double v0 = floats[i], v1 = floats[o1 + i], v2 = floats[o2 + i], v3 = floats[o3 + i];
                    d0[i] = v0;
                    d1[i] = v1;
                    d2[i] = v2;
                    d3[i] = v3;
                    s0 += v0 * xi;
                    s1 += v1 * xi;
                    s2 += v2 * xi;
                    s3 += v3 * xi;
                }
                if (weights != null) {
                    s0 *= weights[l];
                    s1 *= weights[l + 1];
                    s2 *= weights[l + 2];
                    s3 *= weights[l + 3];
                }
                addFour(sum, d0, d1, d2, d3, s0, s1, s2, s3, 0, length);
                continue;
            }
            for (int r = 0; r < h; r++) {
                int off = r * length;
                double c = 0;
                for (int i = 0; i < length; i++) {
                    double v = floats[off + i];
                    d0[i] = v;
                    c += v * x[i];
                }
                addOne(sum, d0, c * (weights == null ? 1.0 : weights[l + r]), 0, length);
            }
        }
        return sum;
    }

    private static double[] lines(int size) {
        return Scratch.doubles(LINES, size);
    }

    /** Dot product with four running sums (breaks the add latency chain; fixed order). */
    private static double dot(double[] a, int off, double[] x, int n) {
        return dot(a, off, x, 0, n);
    }

    static double dot(double[] a, int off, double[] x, int xOff, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            s0 += a[off + j] * x[xOff + j];
            s1 += a[off + j + 1] * x[xOff + j + 1];
            s2 += a[off + j + 2] * x[xOff + j + 2];
            s3 += a[off + j + 3] * x[xOff + j + 3];
        }
        for (; j < n; j++) {
            s0 += a[off + j] * x[xOff + j];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * Repacks an interleaved block of p vectors of length n for streaming: full groups of 4 vectors stored
     * contiguously over j (packed[g * 4n + 4j + k] = x[j * p + 4g + k]), then each of the p % 4 remaining
     * vectors on its own (packed[q * n + j] = x[j * p + q]).
     */
    static double[] pack(double[] x, int n, int p) {
        int full = p / 4 * 4;
        double[] packed = new double[p * n];
        for (int j = 0; j < n; j++) {
            for (int q = 0; q < full; q++) {
                packed[(q >> 2) * 4 * n + 4 * j + (q & 3)] = x[j * p + q];
            }
            for (int q = full; q < p; q++) {
                packed[q * n + j] = x[j * p + q];
            }
        }
        return packed;
    }

    /** Rows [r0, r1) of y = a x with x {@link #pack packed}; the summation order is fixed, whatever thread runs it. */
    static void multiplyRows(BlockSource a, double[] packed, int p, double[] y, int r0, int r1) {
        int n = a.cols();
        boolean columnMajor = a.columnMajorStorage();
        double[] tile = TILE.get();
        Arrays.fill(y, r0 * p, r1 * p, 0.0);
        int tileRows = columnMajor ? COL_TILE : ROW_TILE;
        int tileCols = columnMajor ? ROW_TILE : COL_TILE;
        for (int i0 = r0; i0 < r1; i0 += tileRows) {
            int i1 = Math.min(i0 + tileRows, r1);
            int height = i1 - i0;
            for (int j0 = 0; j0 < n; j0 += tileCols) {
                int j1 = Math.min(j0 + tileCols, n);
                int width = j1 - j0;
                if (columnMajor) {
                    a.copyBlockColumnMajor(i0, i1, j0, j1, tile);
                    multiplyTile(tile, 1, height, height, width, packed, n, j0, p, y, i0);
                } else {
                    a.copyBlock(i0, i1, j0, j1, tile);
                    multiplyTile(tile, width, 1, height, width, packed, n, j0, p, y, i0);
                }
            }
        }
    }

    /**
     * y[i0 + i, q] += sum_j tile(i, j) x[j0 + j, q] with tile(i, j) = tile[i * rowStride + j * colStride].
     * Register-blocked over 4 rows x 4 vectors: 16 running sums stay in registers across j, so each step loads
     * 8 values for 16 multiply-adds and never touches y. Vectors beyond a multiple of 4 go 4 rows x 1 vector.
     */
    static void multiplyTile(double[] tile, int rowStride, int colStride, int height, int width, double[] packed, int n,
                             int j0, int p, double[] y, int i0) {
        int groups = p / 4;
        int i = 0;
        for (; i + 4 <= height; i += 4) {
            int t0 = i * rowStride;
            int t1 = t0 + rowStride;
            int t2 = t1 + rowStride;
            int t3 = t2 + rowStride;
            int row = (i0 + i) * p;
            for (int g = 0; g < groups; g++) {
                double s00 = 0, s01 = 0, s02 = 0, s03 = 0;
                double s10 = 0, s11 = 0, s12 = 0, s13 = 0;
                double s20 = 0, s21 = 0, s22 = 0, s23 = 0;
                double s30 = 0, s31 = 0, s32 = 0, s33 = 0;
                int xi = g * 4 * n + 4 * j0;
                int tj = 0;
                for (int j = 0; j < width; j++, xi += 4, tj += colStride) {
                    double x0 = packed[xi];
                    double x1 = packed[xi + 1];
                    double x2 = packed[xi + 2];
                    double x3 = packed[xi + 3];
                    double a0 = tile[t0 + tj];
                    double a1 = tile[t1 + tj];
                    double a2 = tile[t2 + tj];
                    double a3 = tile[t3 + tj];
                    s00 += a0 * x0; s01 += a0 * x1; s02 += a0 * x2; s03 += a0 * x3;
                    s10 += a1 * x0; s11 += a1 * x1; s12 += a1 * x2; s13 += a1 * x3;
                    s20 += a2 * x0; s21 += a2 * x1; s22 += a2 * x2; s23 += a2 * x3;
                    s30 += a3 * x0; s31 += a3 * x1; s32 += a3 * x2; s33 += a3 * x3;
                }
                int q = 4 * g;
                add4(y, row + q, s00, s01, s02, s03);
                add4(y, row + p + q, s10, s11, s12, s13);
                add4(y, row + 2 * p + q, s20, s21, s22, s23);
                add4(y, row + 3 * p + q, s30, s31, s32, s33);
            }
            for (int q = 4 * groups; q < p; q++) {
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int xi = q * n + j0;
                int tj = 0;
                for (int j = 0; j < width; j++, xi++, tj += colStride) {
                    double xv = packed[xi];
                    s0 += tile[t0 + tj] * xv;
                    s1 += tile[t1 + tj] * xv;
                    s2 += tile[t2 + tj] * xv;
                    s3 += tile[t3 + tj] * xv;
                }
                y[row + q] += s0;
                y[row + p + q] += s1;
                y[row + 2 * p + q] += s2;
                y[row + 3 * p + q] += s3;
            }
        }
        for (; i < height; i++) { // rows left over, one at a time
            int t0 = i * rowStride;
            int row = (i0 + i) * p;
            for (int g = 0; g < groups; g++) {
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int xi = g * 4 * n + 4 * j0;
                int tj = 0;
                for (int j = 0; j < width; j++, xi += 4, tj += colStride) {
                    double a = tile[t0 + tj];
                    s0 += a * packed[xi];
                    s1 += a * packed[xi + 1];
                    s2 += a * packed[xi + 2];
                    s3 += a * packed[xi + 3];
                }
                add4(y, row + 4 * g, s0, s1, s2, s3);
            }
            for (int q = 4 * groups; q < p; q++) {
                double s = 0;
                int xi = q * n + j0;
                int tj = 0;
                for (int j = 0; j < width; j++, xi++, tj += colStride) {
                    s += tile[t0 + tj] * packed[xi];
                }
                y[row + q] += s;
            }
        }
    }

    private static void add4(double[] y, int at, double s0, double s1, double s2, double s3) {
        y[at] += s0;
        y[at + 1] += s1;
        y[at + 2] += s2;
        y[at + 3] += s3;
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
