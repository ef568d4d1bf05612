package io.onnxslanc.calibrate.math;

import java.util.SplittableRandom;

/**
 * ||(R + A B) Gamma||_F^2 with R = I (residual) or 0, A [m x k], B [k x n], Gamma = diag(gamma) (null = I),
 * exactly or by random probing.
 *
 * <p>Exact: column chunks of B are pushed through A (Y = A B[:, chunk]), so the product is never held whole;
 * memory per task is (2k + m) x {@value #EXACT_CHUNK} doubles. Cost m k n multiply-adds.
 *
 * <p>Estimate: ||M||_F^2 = E ||M z||^2 for Rademacher z (entries +-1). Rademacher rather than Gaussian because
 * its variance 2 sum_{i != j} (M^T M)_ij^2 never exceeds the Gaussian 2 ||M^T M||_F^2 and vanishes when the
 * Gram matrix is diagonal, which is what one dominant gamma channel produces. With the residual, the exactly
 * known part ||Gamma||_F^2 + 2 sum_i gamma_i^2 (A B)_ii is computed exactly and only ||A B Gamma||_F^2 is probed.
 */
final class ProductFrobenius {

    static final int EXACT_CHUNK = 64;

    /** Squared Frobenius norm, and the relative standard error of its square root (0 when exact). */
    record Result(double squaredNorm, boolean estimated, double relativeStdError, int probes) {
    }

    private ProductFrobenius() {
    }

    /** Multiply-adds of the exact computation. */
    static double exactCost(BlockSource a, BlockSource b) {
        return (double) a.rows() * a.cols() * b.cols();
    }

    /** {@code bTransposed} is b^T (read for the diagonal of a b when the residual is included). */
    static Result compute(BlockSource a, BlockSource b, BlockSource bTransposed, double[] gamma, boolean residual,
                          SlancScales.Options options, WorkerPool pool) {
        if (exactCost(a, b) <= options.exactThreshold()) {
            return new Result(exact(a, b, gamma, residual, pool), false, 0.0, 0);
        }
        return estimate(a, b, bTransposed, gamma, residual, options, pool);
    }

    static double exact(BlockSource a, BlockSource b, double[] gamma, boolean residual, WorkerPool pool) {
        int m = a.rows();
        int k = b.rows();
        int n = b.cols();
        int chunks = (n + EXACT_CHUNK - 1) / EXACT_CHUNK;
        double[] partial = new double[chunks];
        pool.run(chunks, c -> {
            int j0 = c * EXACT_CHUNK;
            int j1 = Math.min(n, j0 + EXACT_CHUNK);
            int w = j1 - j0;
            double[] x = new double[k * w];
            b.copyBlock(0, k, j0, j1, x); // interleaved: w unit-vector probes pushed through B
            double[] y = new double[m * w];
            BlockKernels.multiplyRows(a, BlockKernels.pack(x, k, w), w, y, 0, m);
            double sum = 0;
            for (int q = 0; q < w; q++) {
                int j = j0 + q;
                double column = 0;
                for (int i = 0; i < m; i++) {
                    double v = y[i * w + q] + (residual && i == j ? 1.0 : 0.0);
                    column += v * v;
                }
                double g = gamma == null ? 1.0 : gamma[j];
                sum += column * g * g;
            }
            partial[c] = sum;
        });
        double total = 0;
        for (double p : partial) {
            total += p;
        }
        return total;
    }

    static Result estimate(BlockSource a, BlockSource b, BlockSource bTransposed, double[] gamma, boolean residual,
                           SlancScales.Options options, WorkerPool pool) {
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
        int batch = options.probes();
        int maxProbes = Math.max(batch, options.maxProbes());
        double[] samples = new double[maxProbes];
        SplittableRandom random = new SplittableRandom(options.seed());
        double[] x = new double[n * batch];
        double[] z = new double[k * batch];
        double[] y = new double[m * batch];
        int count = 0;
        double relativeError = Double.POSITIVE_INFINITY;
        double value = known;
        while (count < maxProbes) {
            int p = Math.min(batch, maxProbes - count);
            fillRademacher(random, gamma, x, n, p);
            BlockKernels.multiply(b, x, p, z, pool);
            BlockKernels.multiply(a, z, p, y, pool);
            for (int q = 0; q < p; q++) {
                double s = 0;
                for (int i = 0; i < m; i++) {
                    double v = y[i * p + q];
                    s += v * v;
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
            relativeError = value > 0 ? Math.sqrt(variance / count) / (2.0 * value) : Double.POSITIVE_INFINITY;
            if (relativeError <= options.targetRelativeError()) {
                break;
            }
        }
        return new Result(Math.max(value, 0.0), true, relativeError, count);
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
