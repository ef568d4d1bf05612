package io.onnxslanc.calibrate.math;

import java.util.SplittableRandom;

/**
 * ||(R + A B) Gamma||_F^2 with R = I (residual) or 0, A [m x k], B [k x n], Gamma = diag(gamma) (null = I),
 * exactly or by random probing.
 *
 * <p>Exact: column chunks of B are pushed through A (Y = A B[:, chunk]), so the product is never held whole;
 * memory per task is (2k + m) x {@value #EXACT_CHUNK} x {@value #CHUNKS_PER_TASK} doubles. Cost m k n multiply-adds.
 *
 * <p>Estimate: ||M||_F^2 = E ||M z||^2 for Rademacher z (entries +-1). Rademacher rather than Gaussian because
 * its variance 2 sum_{i != j} (M^T M)_ij^2 never exceeds the Gaussian 2 ||M^T M||_F^2 and vanishes when the
 * Gram matrix is diagonal, which is what one dominant gamma channel produces. With the residual, the exactly
 * known part ||Gamma||_F^2 + 2 sum_i gamma_i^2 (A B)_ii is computed exactly and only ||A B Gamma||_F^2 is probed.
 *
 * <p>Outstanding rows of A are taken out of the probing. ||A B Gamma||_F^2 = sum_i ||a_i^T B Gamma||^2 over the
 * rows a_i^T of A; for the rows in a set S the term is computed exactly as ||(B^T a_i) .* gamma||^2 (one product
 * with B^T for all of S together), and the probes estimate only the sum over the other rows (each probe's
 * ||y||^2 summed over i not in S). So
 * ||(R + A B) Gamma||_F^2 = known + sum_{i in S} ||a_i^T B Gamma||^2 + E sum_{i not in S} (a_i^T B Gamma z)^2,
 * still exact in expectation; the residual's known part is untouched because it already covers every row.
 * Why: a few rows 10-100x larger than the rest ("massive activation" output channels of W_down) make the Gram
 * matrix M^T M nearly rank-few with large off-diagonal entries, and the Rademacher variance
 * 2 sum_{j != l} (M^T M)_jl^2 is then of the order of the squared norm itself; without them it is the small
 * variance of the bulk. S = the rows with ||a_i||^2 at least {@value #OUTSTANDING_ROW_FACTOR} times the median
 * row, the largest first, at most one probe batch of them (an exact row costs about half a probe). Random or
 * evenly spread weights have no such rows and pay only the pass that measures the row norms.
 */
final class ProductFrobenius {

    /** Columns of B per partial sum (fixes the summation order). */
    static final int EXACT_CHUNK = 64;
    /** Chunks pushed through A in one decoding pass of A. */
    static final int CHUNKS_PER_TASK = 4;
    /** A row of A is computed exactly when ||a_i||^2 is at least this many times the median over the rows. */
    static final double OUTSTANDING_ROW_FACTOR = 4.0;

    /** Squared Frobenius norm, and the relative standard error of its square root (0 when exact). */
    record Result(double squaredNorm, boolean estimated, double relativeStdError, int probes) {
    }

    private ProductFrobenius() {
    }

    /** Largest decoded size (doubles) of A and B together for the Gram route: 32 Mi doubles, 256 MiB. */
    static final long GRAM_MAX_DOUBLES = 1L << 25;

    /** Multiply-adds of the exact computation: the cheaper of the product and the Gram route. */
    static double exactCost(BlockSource a, BlockSource b) {
        return Math.min(productCost(a, b), gramRouteFits(a, b) ? gramCost(a, b) : Double.POSITIVE_INFINITY);
    }

    /** m k n: pushing every column of B through A. */
    static double productCost(BlockSource a, BlockSource b) {
        return (double) a.rows() * a.cols() * b.cols();
    }

    /** k^2 (m + n) / 2: one triangle of the two k x k Gram matrices A^T A and B Gamma^2 B^T. */
    static double gramCost(BlockSource a, BlockSource b) {
        double k = a.cols();
        return k * k * ((double) a.rows() + b.cols()) / 2.0;
    }

    /** Whether A and B decoded whole fit {@link #GRAM_MAX_DOUBLES}. */
    static boolean gramRouteFits(BlockSource a, BlockSource b) {
        return ((long) a.rows() + b.cols()) * a.cols() <= GRAM_MAX_DOUBLES;
    }

    /** {@code bTransposed} is b^T (read for the diagonal of a b when the residual is included). */
    static Result compute(BlockSource a, BlockSource b, BlockSource bTransposed, double[] gamma, boolean residual,
                          SlancScales.Options options, WorkerPool pool) {
        if (exactCost(a, b) <= options.exactThreshold()) {
            return new Result(exact(a, b, gamma, residual, pool), false, 0.0, 0);
        }
        return estimate(a, b, bTransposed, gamma, residual, options, pool);
    }

    /** Exact, by whichever route costs fewer multiply-adds. */
    static double exact(BlockSource a, BlockSource b, double[] gamma, boolean residual, WorkerPool pool) {
        if (gramRouteFits(a, b) && gramCost(a, b) < productCost(a, b)) {
            return exactByGrams(a, b, gamma, residual, pool);
        }
        return exactByProduct(a, b, gamma, residual, pool);
    }

    /**
     * ||A B Gamma||_F^2 = tr(Gamma B^T A^T A B Gamma) = <A^T A, B Gamma^2 B^T>_F, the inner product of two k x k Gram
     * matrices: k^2 (m + n) / 2 multiply-adds instead of m k n, the win when the inner dimension is small, as for
     * grouped-query attention (W_o with the heads of a kv group summed is d x n_kv head_dim). With the residual,
     * ||(I + A B) Gamma||_F^2 adds ||Gamma||_F^2 + 2 sum_i gamma_i^2 (A B)_ii. The Grams are sums of outer products
     * (of the rows of A, of the columns of B Gamma): updates without a reduction, which the JIT vectorises. Each task
     * owns a fixed range of Gram rows and sums in a fixed order, so the total does not depend on the thread count.
     */
    static double exactByGrams(BlockSource a, BlockSource b, double[] gamma, boolean residual, WorkerPool pool) {
        int m = a.rows();
        int k = a.cols();
        int n = b.cols();
        double[][] rowsOfA;
        double[][] columnsOfB;
        try {
            rowsOfA = rows(a, pool);
            columnsOfB = columns(b, pool);
        } catch (IllegalArgumentException e) {
            // a NaN or infinity met by whichever thread came first: decoded again on this thread, the error names
            // the first bad element in order
            try (WorkerPool serial = new WorkerPool(1)) {
                rows(a, serial);
                columns(b, serial);
            }
            throw e;
        }
        double known = 0;
        if (residual) {
            // sum_i gamma_i^2 (1 + 2 (A B)_ii), with (A B)_ii = sum_p A_ip B_pi, before B is scaled by Gamma
            for (int i = 0; i < n; i++) {
                double g2 = gamma == null ? 1.0 : gamma[i] * gamma[i];
                known += g2 * (1.0 + 2.0 * BlockKernels.dot(rowsOfA[i], 0, columnsOfB[i], 0, k));
            }
        }
        if (gamma != null) {
            for (int j = 0; j < n; j++) {
                double g = gamma[j];
                for (int p = 0; p < k; p++) {
                    columnsOfB[j][p] *= g;
                }
            }
        }
        double[][] gramA = upperGram(rowsOfA, k, pool);
        double[][] gramB = upperGram(columnsOfB, k, pool);
        double total = known;
        for (int p = 0; p < k; p++) {
            // row p of the symmetric inner product: the diagonal term once, the terms right of it twice
            double offDiagonal = 0;
            for (int q = p + 1; q < k; q++) {
                offDiagonal += gramA[p][q] * gramB[p][q];
            }
            total += gramA[p][p] * gramB[p][p] + 2.0 * offDiagonal;
        }
        return total;
    }

    /** Gram rows per task of {@link #upperGram}. */
    private static final int GRAM_ROWS_PER_TASK = 16;

    /**
     * The upper triangle (q >= p) of sum_v v v^T over the given vectors of length k, as outer-product updates four
     * vectors at a time (eight measured slower: 48 against 33 ms per TinyLlama attention block).
     */
    private static double[][] upperGram(double[][] vectors, int k, WorkerPool pool) {
        double[][] gram = new double[k][k];
        int count = vectors.length;
        int tasks = (k + GRAM_ROWS_PER_TASK - 1) / GRAM_ROWS_PER_TASK;
        pool.run(tasks, t -> {
            int p1 = Math.min(k, (t + 1) * GRAM_ROWS_PER_TASK);
            int v = 0;
            for (; v + 4 <= count; v += 4) {
                double[] v0 = vectors[v], v1 = vectors[v + 1], v2 = vectors[v + 2], v3 = vectors[v + 3];
                for (int p = t * GRAM_ROWS_PER_TASK; p < p1; p++) {
                    BlockKernels.addFour(gram[p], v0, v1, v2, v3, v0[p], v1[p], v2[p], v3[p], p, k);
                }
            }
            for (; v < count; v++) {
                double[] v0 = vectors[v];
                for (int p = t * GRAM_ROWS_PER_TASK; p < p1; p++) {
                    BlockKernels.addOne(gram[p], v0, v0[p], p, k);
                }
            }
        });
        return gram;
    }

    /** The rows of {@code s}, one array each, read in storage order. */
    private static double[][] rows(BlockSource s, WorkerPool pool) {
        int m = s.rows();
        int k = s.cols();
        if (!s.columnMajorStorage()) {
            return split(m, k, (from, to, dst) -> s.copyBlock(from, to, 0, k, dst), pool);
        }
        return splitAcross(k, m, (from, to, dst) -> s.copyBlockColumnMajor(0, m, from, to, dst), pool);
    }

    /** The columns of {@code s}, one array each, read in storage order. */
    private static double[][] columns(BlockSource s, WorkerPool pool) {
        int k = s.rows();
        int n = s.cols();
        if (s.columnMajorStorage()) {
            return split(n, k, (from, to, dst) -> s.copyBlockColumnMajor(0, k, from, to, dst), pool);
        }
        return splitAcross(k, n, (from, to, dst) -> s.copyBlock(from, to, 0, n, dst), pool);
    }

    /** Decodes vectors [from, to) of a matrix, one after the other, into {@code dst}. */
    private interface VectorRange {
        void copy(int from, int to, double[] dst);
    }

    /**
     * Doubles decoded per batch of {@link #split}: 256 KiB, under half a G1 region, so that no batch (nor the fold's
     * scratch of the same size) is a humongous object: with the weights' heap copies the heap is past G1's marking
     * threshold, and every humongous allocation started a concurrent cycle (30 marking cycles, ~1 s of CPU, on a
     * 1.1B conversion).
     */
    private static final int SPLIT_BATCH_DOUBLES = 1 << 15;

    /** {@code count} vectors of {@code length} decoded by {@code fill} in batches, as one array each. */
    private static double[][] split(int count, int length, VectorRange fill, WorkerPool pool) {
        double[][] vectors = new double[count][length];
        inBatches(count, length, fill, pool, (v0, v1, batch) -> {
            for (int v = v0; v < v1; v++) {
                System.arraycopy(batch, (v - v0) * length, vectors[v], 0, length);
            }
        });
        return vectors;
    }

    /**
     * The transpose of {@link #split}: {@code fill} decodes {@code count} vectors of {@code length} in batches, and
     * element i of vector v lands at [i][v] (a matrix read along its storage, kept along the other axis).
     */
    private static double[][] splitAcross(int count, int length, VectorRange fill, WorkerPool pool) {
        double[][] out = new double[length][count];
        inBatches(count, length, fill, pool, (v0, v1, batch) -> {
            for (int i0 = 0; i0 < length; i0 += 64) { // in tiles, so that both sides stay in cache
                int i1 = Math.min(length, i0 + 64);
                for (int v = v0; v < v1; v++) {
                    int off = (v - v0) * length;
                    for (int i = i0; i < i1; i++) {
                        out[i][v] = batch[off + i];
                    }
                }
            }
        });
        return out;
    }

    /** Vectors [v0, v1) decoded one after the other in {@code batch}. */
    private interface Batch {
        void take(int v0, int v1, double[] batch);
    }

    private static final ThreadLocal<double[]> PROBE_Z = new ThreadLocal<>();

    /** This thread's array of exactly {@code size} doubles, kept from the last call with the same size. */
    private static double[] reused(ThreadLocal<double[]> local, int size) {
        double[] a = local.get();
        if (a == null || a.length != size) {
            a = new double[size];
            local.set(a);
        }
        return a;
    }

    /** Batches {@link #inBatches} makes at least, so that every thread of the pool gets some. */
    private static final int MIN_BATCHES = 8;

    /**
     * Decodes {@code count} vectors of {@code length} by {@code fill}, at most {@link #SPLIT_BATCH_DOUBLES} and at
     * least {@link #MIN_BATCHES} batches, on the pool; each batch's vectors go to their own places, so the order in
     * which batches finish does not matter.
     */
    private static void inBatches(int count, int length, VectorRange fill, WorkerPool pool, Batch take) {
        int perBatch = Math.max(1, Math.min(SPLIT_BATCH_DOUBLES / Math.max(1, length),
                (count + MIN_BATCHES - 1) / MIN_BATCHES));
        int batches = (count + perBatch - 1) / perBatch;
        pool.run(batches, t -> {
            int v0 = t * perBatch;
            int v1 = Math.min(count, v0 + perBatch);
            double[] batch = Scratch.doubles(SPLIT_BATCH, perBatch * length);
            fill.copy(v0, v1, batch);
            take.take(v0, v1, batch);
        });
    }

    private static final ThreadLocal<double[]> SPLIT_BATCH = ThreadLocal.withInitial(() -> new double[0]);

    /** Column chunks of B pushed through A: m k n multiply-adds, memory independent of the size of A B. */
    static double exactByProduct(BlockSource a, BlockSource b, double[] gamma, boolean residual, WorkerPool pool) {
        int m = a.rows();
        int k = b.rows();
        int n = b.cols();
        int chunks = (n + EXACT_CHUNK - 1) / EXACT_CHUNK;
        int tasks = (chunks + CHUNKS_PER_TASK - 1) / CHUNKS_PER_TASK;
        double[] partial = new double[chunks];
        pool.run(tasks, t -> {
            // several chunks per task: A is decoded once for all of them (decoding cost as much as the arithmetic
            // at one chunk per pass); each chunk keeps its own partial sum, so the total is bit-identical.
            int j0 = t * CHUNKS_PER_TASK * EXACT_CHUNK;
            int j1 = Math.min(n, j0 + CHUNKS_PER_TASK * EXACT_CHUNK);
            int w = j1 - j0;
            double[] x = new double[k * w];
            b.copyBlock(0, k, j0, j1, x); // interleaved: w unit-vector probes pushed through B
            double[] y = new double[m * w];
            if (a.columnMajorStorage()) { // this task's own pass over A, blocks in order (tasks already run in parallel)
                BlockKernels.columnKernelBlocks(m, w, null, (r0, r1) -> BlockKernels.multiplyByColumns(a, x, w, y, r0, r1));
            } else {
                BlockKernels.multiplyRows(a, BlockKernels.pack(x, k, w), w, y, 0, m);
            }
            for (int c0 = j0; c0 < j1; c0 += EXACT_CHUNK) {
                double sum = 0;
                for (int j = c0; j < Math.min(j1, c0 + EXACT_CHUNK); j++) {
                    int q = j - j0;
                    double column = 0;
                    for (int i = 0; i < m; i++) {
                        double v = y[i * w + q] + (residual && i == j ? 1.0 : 0.0);
                        column += v * v;
                    }
                    double g = gamma == null ? 1.0 : gamma[j];
                    sum += column * g * g;
                }
                partial[c0 / EXACT_CHUNK] = sum;
            }
        });
        double total = 0;
        for (double p : partial) {
            total += p;
        }
        return total;
    }

    static Result estimate(BlockSource a, BlockSource b, BlockSource bTransposed, double[] gamma, boolean residual,
                           SlancScales.Options options, WorkerPool pool) {
        return estimate(a, b, bTransposed, gamma, residual, options, options.probes(), pool);
    }

    /** With at most {@code maxExactRows} outstanding rows computed exactly (0: plain probing of all rows). */
    static Result estimate(BlockSource a, BlockSource b, BlockSource bTransposed, double[] gamma, boolean residual,
                           SlancScales.Options options, int maxExactRows, WorkerPool pool) {
        // The products read the stored floats unchecked, and the row norms' checked copies name whichever bad
        // element a thread met first. A NaN or infinity in either weight makes a product non-finite or a copy
        // throw; only then are both weights checked in order, for the error naming the first bad element in
        // storage order: two passes fewer over the weights than checking them up front.
        try {
            return probe(a, b, bTransposed, gamma, residual, options, maxExactRows, pool);
        } catch (IllegalArgumentException e) {
            checkFinite(a, pool);
            checkFinite(b, pool);
            throw e;
        }
    }

    private static Result probe(BlockSource a, BlockSource b, BlockSource bTransposed, double[] gamma, boolean residual,
                                SlancScales.Options options, int maxExactRows, WorkerPool pool) {
        int m = a.rows();
        int k = b.rows();
        int n = b.cols();
        double known = 0;
        if (residual) {
            double[] diagonal = BlockKernels.diagonalOfProduct(a, bTransposed, pool);
            for (int i = 0; i < n; i++) {
                double g2 = gamma == null ? 1.0 : gamma[i] * gamma[i];
                known += g2 * (1.0 + 2.0 * diagonal[i]);
            }
        }
        int[] exactRows = maxExactRows > 0 ? outstandingRows(BlockKernels.rowSquaredNorms(a, pool), maxExactRows) : new int[0];
        known += exactRowsSquaredNorm(a, bTransposed, gamma, exactRows, pool);
        boolean[] skip = new boolean[m];
        for (int i : exactRows) {
            skip[i] = true;
        }
        int batch = options.probes();
        int maxProbes = Math.max(batch, options.maxProbes());
        double[] samples = new double[maxProbes];
        SplittableRandom random = new SplittableRandom(options.seed());
        double[] x = new double[n * batch];
        double[] z = reused(PROBE_Z, k * batch); // 720 KB for a 1.1B MLP: a humongous object for G1 if new each time
        double[] y = new double[m * batch];
        int count = 0;
        double relativeError = Double.POSITIVE_INFINITY;
        double value = known;
        boolean checked = false;
        while (count < maxProbes) {
            int p = Math.min(batch, maxProbes - count);
            fillRademacher(random, gamma, x, n, p);
            BlockKernels.multiplyProbes(b, x, p, z, pool);
            BlockKernels.multiplyProbes(a, z, p, y, pool);
            if (!checked && !(BlockKernels.allFinite(z) && BlockKernels.allFinite(y))) {
                checkFinite(a, pool); // throws for a NaN or infinity in a weight
                checkFinite(b, pool);
                checked = true; // finite weights whose float32 product overflowed: go on as before
            }
            for (int q = 0; q < p; q++) {
                double s = 0;
                for (int i = 0; i < m; i++) {
                    double v = y[i * p + q];
                    s += skip[i] ? 0.0 : v * v;
                }
                samples[count++] = s;
            }
            double mean = 0;
            for (int i = 0; i < count; i++) {
                mean += samples[i];
            }
            mean /= count;
            double variance = 0;
            for (int i = 0; i < count; i++) {
                double dv = samples[i] - mean;
                variance += dv * dv;
            }
            variance = count > 1 ? variance / (count - 1) : Double.POSITIVE_INFINITY;
            value = known + mean;
            // standard error of the squared norm, halved for the norm itself (d sqrt(v) / sqrt(v) = dv / 2v)
            relativeError = value > 0 ? Math.sqrt(variance / count) / (2.0 * value)
                    : variance == 0 ? 0.0 : Double.POSITIVE_INFINITY;
            if (relativeError <= options.targetRelativeError()) {
                break;
            }
        }
        return new Result(Math.max(value, 0.0), true, relativeError, count);
    }

    /**
     * Rows whose squared norm is at least {@link #OUTSTANDING_ROW_FACTOR} times the median (and positive), the
     * largest first, at most {@code limit}; returned in increasing index order.
     */
    static int[] outstandingRows(double[] rowSquaredNorms, int limit) {
        int m = rowSquaredNorms.length;
        double[] sorted = rowSquaredNorms.clone();
        java.util.Arrays.sort(sorted);
        double threshold = OUTSTANDING_ROW_FACTOR * sorted[(m - 1) / 2];
        // a selection of the few candidates, not a sort of all m boxed indices with a comparator (that sort, run
        // once per layer, had the JIT recompile TimSort for 0.8 s of CPU on a 22-layer model)
        boolean[] taken = new boolean[m];
        int[] rows = new int[Math.min(limit, m)];
        int count = 0;
        while (count < rows.length) {
            int best = -1;
            for (int i = 0; i < m; i++) { // the largest left, the lowest index among equals
                double v = rowSquaredNorms[i];
                if (!taken[i] && v > 0 && v >= threshold && (best < 0 || v > rowSquaredNorms[best])) {
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            taken[best] = true;
            rows[count++] = best;
        }
        rows = java.util.Arrays.copyOf(rows, count);
        java.util.Arrays.sort(rows);
        return rows;
    }

    /** sum over the given rows i of ||(B^T a_i) .* gamma||^2 = ||a_i^T B Gamma||^2, all rows in one product. */
    private static double exactRowsSquaredNorm(BlockSource a, BlockSource bTransposed, double[] gamma, int[] rows,
                                               WorkerPool pool) {
        int r = rows.length;
        if (r == 0) {
            return 0.0;
        }
        int k = a.cols();
        int n = bTransposed.rows();
        double[] row = new double[k];
        double[] x = new double[k * r]; // the rows interleaved: x[t * r + s] = a[rows[s], t]
        for (int s = 0; s < r; s++) {
            a.copyBlock(rows[s], rows[s] + 1, 0, k, row);
            for (int t = 0; t < k; t++) {
                x[t * r + s] = row[t];
            }
        }
        double[] product = new double[n * r];
        BlockKernels.multiply(bTransposed, x, r, product, pool);
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double g = gamma == null ? 1.0 : gamma[j];
            for (int s = 0; s < r; s++) {
                double v = product[j * r + s] * g;
                sum += v * v;
            }
        }
        return sum;
    }

    private static void checkFinite(BlockSource s, WorkerPool pool) {
        if (s instanceof MatrixView view) {
            view.checkFinite(pool);
        }
    }

    /** x[j * p + q] = gamma_j * (+-1), signs drawn from 64-bit words in a fixed order. */
    private static void fillRademacher(SplittableRandom random, double[] gamma, double[] x, int n, int p) {
        long bits = 0;
        int left = 0;
        for (int j = 0; j < n; j++) {
            double g = gamma == null ? 1.0 : gamma[j];
            for (int q = 0; q < p; q++) {
                if (left == 0) {
                    bits = random.nextLong();
                    left = 64;
                }
                x[j * p + q] = (bits & 1L) == 0 ? g : -g;
                bits >>>= 1;
                left--;
            }
        }
    }
}
