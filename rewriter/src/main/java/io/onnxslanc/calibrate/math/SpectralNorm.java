package io.onnxslanc.calibrate.math;

import java.util.SplittableRandom;

/**
 * ||W Gamma||_2 by block power iteration on M^T M (M = W Gamma) in double, with Rayleigh-Ritz on the block.
 *
 * <p>b = 1 (the default) is the plain power method with the Rayleigh quotient. With b > 1 the top Ritz value
 * converges with ratio (sigma_{b+1} / sigma_1)^2 per iteration instead of (sigma_2 / sigma_1)^2, but each pass
 * costs more; on 7B-sized weights one vector was cheaper overall. The Ritz value never exceeds sigma_1^2, so
 * an early stop gives an underestimate, never an overestimate.
 *
 * <p>Stops when the relative change of the sigma estimate between two iterations, or the relative residual
 * ||M^T M v - theta v|| / theta of the top Ritz pair, is at most the tolerance, or at the iteration limit.
 */
final class SpectralNorm {

    record Result(double sigma, int iterations, double relativeResidual) {
    }

    private SpectralNorm() {
    }

    static Result compute(MatrixView w, double[] gamma, int blockSize, double tolerance, int maxIterations,
                          long seed, WorkerPool pool) {
        int m = w.rows();
        int n = w.cols();
        int b = Math.max(1, Math.min(blockSize, Math.min(n, m)));
        MatrixView wt = w.transposed();
        SplittableRandom random = new SplittableRandom(seed);
        double[] v = new double[n * b];
        for (int i = 0; i < v.length; i++) {
            v[i] = random.nextDouble() * 2 - 1; // any start with a component along the top singular vector
        }
        orthonormalize(v, n, b, random);
        double[] x = new double[n * b];
        double[] y = new double[m * b];
        double[] u = new double[n * b];
        double sigma = 0;
        double residual = Double.POSITIVE_INFINITY;
        int iteration = 0;
        while (iteration < maxIterations) {
            iteration++;
            scaleRows(v, gamma, n, b, x);
            BlockKernels.multiply(w, x, b, y, pool);
            BlockKernels.multiply(wt, y, b, u, pool);
            scaleRows(u, gamma, n, b, u); // u = M^T M v
            double[] h = new double[b * b]; // Ritz matrix V^T M^T M V
            for (int p = 0; p < b; p++) {
                for (int q = p; q < b; q++) {
                    double s = 0;
                    for (int j = 0; j < n; j++) {
                        s += v[j * b + p] * u[j * b + q] + v[j * b + q] * u[j * b + p];
                    }
                    h[p * b + q] = s / 2;
                    h[q * b + p] = s / 2;
                }
            }
            SymmetricEigen.Result ritz = SymmetricEigen.decompose(h, b);
            double theta = ritz.values()[0];
            if (!(theta > 0)) {
                return new Result(0.0, iteration, 0.0); // M = 0 on the whole block: W Gamma is zero or nearly
            }
            double previous = sigma;
            sigma = Math.sqrt(theta);
            residual = ritzResidual(v, u, ritz.vectors(), theta, n, b);
            // next block: M^T M V rotated onto the Ritz vectors (top one first), then orthonormalised
            rotate(u, ritz.vectors(), n, b, v);
            orthonormalize(v, n, b, random);
            if (residual <= tolerance || (iteration > 1 && Math.abs(sigma - previous) <= tolerance * sigma)) {
                break;
            }
        }
        return new Result(sigma, iteration, residual);
    }

    private static void scaleRows(double[] from, double[] gamma, int n, int b, double[] to) {
        for (int j = 0; j < n; j++) {
            double g = gamma == null ? 1.0 : gamma[j];
            for (int q = 0; q < b; q++) {
                to[j * b + q] = from[j * b + q] * g;
            }
        }
    }

    /** ||U e - theta V e|| / theta for the top Ritz vector e. */
    private static double ritzResidual(double[] v, double[] u, double[] e, double theta, int n, int b) {
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double r = 0;
            for (int q = 0; q < b; q++) {
                r += (u[j * b + q] - theta * v[j * b + q]) * e[q * b];
            }
            sum += r * r;
        }
        return Math.sqrt(sum) / theta;
    }

    /** to = from E (n x b times b x b). */
    private static void rotate(double[] from, double[] e, int n, int b, double[] to) {
        double[] row = new double[b];
        for (int j = 0; j < n; j++) {
            for (int c = 0; c < b; c++) {
                double s = 0;
                for (int q = 0; q < b; q++) {
                    s += from[j * b + q] * e[q * b + c];
                }
                row[c] = s;
            }
            System.arraycopy(row, 0, to, j * b, b);
        }
    }

    /** Modified Gram-Schmidt, twice; a column that vanishes (rank-deficient M) is replaced by a random one. */
    private static void orthonormalize(double[] v, int n, int b, SplittableRandom random) {
        for (int c = 0; c < b; c++) {
            for (int attempt = 0; ; attempt++) {
                double before = columnNorm(v, n, b, c);
                for (int pass = 0; pass < 2; pass++) {
                    for (int p = 0; p < c; p++) {
                        double dot = 0;
                        for (int j = 0; j < n; j++) {
                            dot += v[j * b + p] * v[j * b + c];
                        }
                        for (int j = 0; j < n; j++) {
                            v[j * b + c] -= dot * v[j * b + p];
                        }
                    }
                }
                double after = columnNorm(v, n, b, c);
                if (after > 1e-10 * before && after > 0) {
                    for (int j = 0; j < n; j++) {
                        v[j * b + c] /= after;
                    }
                    break;
                }
                if (attempt > 10) {
                    throw new IllegalStateException("cannot complete an orthonormal block of " + b + " in dimension " + n);
                }
                for (int j = 0; j < n; j++) {
                    v[j * b + c] = random.nextDouble() * 2 - 1;
                }
            }
        }
    }

    private static double columnNorm(double[] v, int n, int b, int c) {
        double s = 0;
        for (int j = 0; j < n; j++) {
            s += v[j * b + c] * v[j * b + c];
        }
        return Math.sqrt(s);
    }
}
