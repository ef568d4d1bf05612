package io.onnxslanc.calibrate.math;

import java.util.SplittableRandom;

/**
 * ||W Gamma||_2 by Lanczos bidiagonalization (Golub-Kahan-Lanczos), run as symmetric Lanczos on the Gram matrix,
 * in double with full reorthogonalisation.
 *
 * <p>GKL on M = W Gamma builds the bidiagonal B_k with M V_k = U_k B_k; its Ritz values are those of the
 * tridiagonal T_k = B_k^T B_k that symmetric Lanczos on M^T M builds from the same start vector (the same Krylov
 * space, the same numbers in exact arithmetic). Lanczos on the Gram matrix is used because one Gram product
 * needs one pass over the stored weight ({@link BlockKernels#gramVector}: each stored line is decoded once and
 * used twice from cache), where a GKL step reads W and then W^T. For the top singular value squaring the
 * matrix costs no accuracy in double (its relative rounding error stays ~1e-16 of sigma_1^2). The Gram matrix
 * is taken in the orientation the storage reads contiguously: M^T M for row-major storage, M M^T (dimension
 * rows, the same nonzero eigenvalues) for transposed storage, the ONNX MatMul case.
 *
 * <p>After k steps the top Ritz value theta of T_k never exceeds sigma_1^2 (it is a Rayleigh quotient), so
 * sigma = sqrt(theta) is a lower bound; it converges like a Chebyshev polynomial in the spectral gap,
 * ~ exp(-4 k sqrt(gap)) against ~ exp(-2 k gap) for the power method. The residual of the Ritz pair (theta, y)
 * is known without another pass: ||G y - theta y|| = |beta_k s_k| (s_k the last component of T_k's top
 * eigenvector); the iteration stops when |beta_k s_k| / theta is at most the tolerance, when the Krylov space
 * is exhausted (beta_k = 0: theta is exact), or at the step limit.
 */
final class SpectralNorm {

    /** sigma, Lanczos steps (Gram products) used, and the relative residual |beta_k s_k| / theta. */
    record Result(double sigma, int iterations, double relativeResidual) {
    }

    private SpectralNorm() {
    }

    /**
     * Step limit for a weight: {@code maxIterations}, raised for small matrices to what about 2e8 multiply-adds
     * buy (well under a second), so that they converge to the tolerance whatever the limit set for 7B shapes.
     */
    static int stepLimit(MatrixView w, int maxIterations) {
        long perStep = 2L * w.rows() * w.cols();
        return (int) Math.max(maxIterations, Math.min(100_000L, 200_000_000L / Math.max(1, perStep)));
    }

    /**
     * Weights with at least this many elements take their Gram products in float32
     * ({@link BlockKernels#gramVectorFloat}): 4 Mi elements, a 2048 x 2048 matrix. Below it the products stay in
     * double, exact to ~1e-15, which the tight float64-reference tests rely on.
     */
    static final long FLOAT_PRODUCTS_MIN_ELEMENTS = 1L << 22;

    /** At most min(maxIterations, dimension) Lanczos steps; see {@link #stepLimit}. */
    static Result compute(MatrixView w, double[] gamma, double tolerance, int maxIterations, long seed, WorkerPool pool) {
        return compute(w, gamma, tolerance, maxIterations, seed, pool,
                (long) w.rows() * w.cols() >= FLOAT_PRODUCTS_MIN_ELEMENTS);
    }

    /** As {@link #compute(MatrixView, double[], double, int, long, WorkerPool)}, the precision of the products chosen. */
    static Result compute(MatrixView w, double[] gamma, double tolerance, int maxIterations, long seed, WorkerPool pool,
                          boolean floatProducts) {
        // The passes read the weight unchecked. A NaN or infinity in it makes the Gram product non-finite (an
        // infinite term times the random start is infinite, times a zero gain NaN), and only then is the weight
        // checked, for the error naming its first bad element: one pass fewer over every weight.
        boolean columnLines = w.columnMajorStorage();
        int dim = columnLines ? w.rows() : w.cols();
        double[] lineWeights = null;
        if (columnLines && gamma != null) {
            lineWeights = new double[gamma.length];
            for (int j = 0; j < gamma.length; j++) {
                lineWeights[j] = gamma[j] * gamma[j];
            }
        }
        int limit = Math.min(dim, maxIterations); // after dim steps the Krylov space is the whole space
        double[][] q = new double[limit + 1][];
        double[] alpha = new double[limit];
        double[] beta = new double[limit];
        SplittableRandom random = new SplittableRandom(seed);
        double[] start = new double[dim];
        for (int i = 0; i < dim; i++) {
            start[i] = random.nextDouble() * 2 - 1; // any start with a component along the top singular vector
        }
        scale(start, 1.0 / norm(start));
        q[0] = start;
        double[] scaled = columnLines ? null : new double[dim];
        double theta = 0;
        double residual = Double.POSITIVE_INFINITY;
        int steps = 0;
        while (steps < limit) {
            int k = steps++;
            double[] z = new double[dim];
            if (columnLines) {
                gram(w, lineWeights, q[k], z, pool, floatProducts); // z = W Gamma^2 W^T q
            } else {
                for (int i = 0; i < dim; i++) {
                    scaled[i] = q[k][i] * (gamma == null ? 1.0 : gamma[i]);
                }
                gram(w, null, scaled, z, pool, floatProducts);
                if (gamma != null) {
                    for (int i = 0; i < dim; i++) {
                        z[i] *= gamma[i]; // z = Gamma W^T W Gamma q
                    }
                }
            }
            if (!BlockKernels.allFinite(z)) {
                w.checkFinite(pool); // throws for a NaN or infinity in the weight
                if (floatProducts) {
                    return compute(w, gamma, tolerance, maxIterations, seed, pool, false); // float32 overflow
                }
            }
            alpha[k] = dot(q[k], z);
            axpy(-alpha[k], q[k], z);
            if (k > 0) {
                axpy(-beta[k - 1], q[k - 1], z);
            }
            for (int pass = 0; pass < 2; pass++) { // full reorthogonalisation, twice is enough
                for (int i = 0; i <= k; i++) {
                    axpy(-dot(q[i], z), q[i], z);
                }
            }
            beta[k] = norm(z);
            double[] top = topEigenpair(alpha, beta, steps);
            theta = top[0];
            if (!(theta > 0)) {
                return new Result(0.0, steps, 0.0); // G q = 0: W Gamma is zero (or nearly) along the Krylov space
            }
            residual = Math.abs(beta[k] * top[1]) / theta;
            if (residual <= tolerance || beta[k] <= 1e-14 * theta) {
                break; // converged, or the Krylov space is invariant and theta exact
            }
            scale(z, 1.0 / beta[k]);
            q[k + 1] = z;
        }
        return new Result(Math.sqrt(theta), steps, residual);
    }

    private static void gram(MatrixView w, double[] weights, double[] x, double[] y, WorkerPool pool, boolean single) {
        if (single) {
            BlockKernels.gramVectorFloat(w, weights, x, y, pool);
        } else {
            BlockKernels.gramVector(w, weights, x, y, pool);
        }
    }

    /**
     * Largest eigenvalue of the k x k symmetric tridiagonal matrix (diagonal alpha, off-diagonal beta) by
     * Sturm-count bisection, and the last component of its unit eigenvector by shifted inverse iteration.
     */
    static double[] topEigenpair(double[] alpha, double[] beta, int k) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) { // Gershgorin discs
            double radius = (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i < k - 1 ? Math.abs(beta[i]) : 0);
            lo = Math.min(lo, alpha[i] - radius);
            hi = Math.max(hi, alpha[i] + radius);
        }
        double scale = Math.max(Math.abs(lo), Math.abs(hi));
        if (scale == 0) {
            return new double[] {0.0, 1.0};
        }
        double pivotFloor = 1e-300 + scale * 1e-300;
        for (int it = 0; it < 200 && hi - lo > 2 * Math.ulp(Math.max(Math.abs(lo), Math.abs(hi))); it++) {
            double mid = 0.5 * (lo + hi);
            if (eigenvaluesBelow(alpha, beta, k, mid, pivotFloor) == k) {
                hi = mid; // all eigenvalues below mid
            } else {
                lo = mid;
            }
        }
        double lambda = hi;
        // inverse iteration with (shift I - T), shift just above lambda: positive definite, nearly singular
        // along the wanted eigenvector, so two or three solves give it to full precision
        double shift = lambda + 1e-13 * scale;
        double[] d = new double[k];
        double[] l = new double[k];
        d[0] = shift - alpha[0];
        for (int i = 1; i < k; i++) {
            double previous = Math.max(d[i - 1], 1e-15 * scale);
            d[i - 1] = previous;
            l[i] = -beta[i - 1] / previous;
            d[i] = shift - alpha[i] - l[i] * l[i] * previous;
        }
        d[k - 1] = Math.max(d[k - 1], 1e-15 * scale);
        double[] v = new double[k];
        java.util.Arrays.fill(v, 1.0);
        for (int round = 0; round < 3; round++) {
            for (int i = 1; i < k; i++) { // L y = v
                v[i] -= l[i] * v[i - 1];
            }
            for (int i = 0; i < k; i++) { // D w = y
                v[i] /= d[i];
            }
            for (int i = k - 2; i >= 0; i--) { // L^T x = w
                v[i] -= l[i + 1] * v[i + 1];
            }
            double n = norm(v);
            scale(v, 1.0 / n);
        }
        return new double[] {lambda, v[k - 1]};
    }

    /** Number of eigenvalues below x (negative pivots of the LDL^T factorisation of T - x I). */
    private static int eigenvaluesBelow(double[] alpha, double[] beta, int k, double x, double pivotFloor) {
        int count = 0;
        double d = alpha[0] - x;
        for (int i = 0; ; i++) {
            if (d == 0) {
                d = -pivotFloor;
            }
            if (d < 0) {
                count++;
            }
            if (i + 1 == k) {
                return count;
            }
            d = alpha[i + 1] - x - beta[i] * beta[i] / d;
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static void axpy(double c, double[] x, double[] y) {
        for (int i = 0; i < y.length; i++) {
            y[i] += c * x[i];
        }
    }

    private static void scale(double[] a, double c) {
        for (int i = 0; i < a.length; i++) {
            a[i] *= c;
        }
    }
}
