package io.onnxslanc.calibrate.math;

import java.util.Random;

/**
 * Independent float64 reference for the tests: explicit matrices, triple loops, one-sided Jacobi SVD.
 * Deliberately shares nothing with the production code.
 */
final class ReferenceMath {

    private ReferenceMath() {
    }

    /** expected == actual within a relative tolerance, with the relative difference in the message. */
    static void assertRelative(double expected, double actual, double tolerance) {
        org.junit.jupiter.api.Assertions.assertEquals(expected, actual, tolerance * Math.abs(expected),
                () -> "expected " + expected + ", got " + actual + " (relative " + (actual - expected) / expected + ")");
    }

    /** Random matrix with float-representable entries (so the float views hold exactly these values). */
    static double[][] randomMatrix(Random random, int rows, int cols, double scale) {
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m[i][j] = (float) (random.nextGaussian() * scale);
            }
        }
        return m;
    }

    static double[] randomGamma(Random random, int d) {
        double[] g = new double[d];
        for (int i = 0; i < d; i++) {
            // varied magnitudes and signs, a few large outlier channels like real gains
            g[i] = (random.nextBoolean() ? 1 : -1) * Math.exp(random.nextGaussian());
            if (random.nextInt(10) == 0) {
                g[i] *= 20;
            }
        }
        return g;
    }

    /** Math-layout view of m; stored either as m itself or as m^T viewed through transposed() (ONNX MatMul). */
    static MatrixView view(String name, double[][] m, boolean storeTransposed) {
        int rows = m.length;
        int cols = m[0].length;
        if (!storeTransposed) {
            float[] data = new float[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    data[i * cols + j] = (float) m[i][j];
                }
            }
            return MatrixView.ofFloats(name, data, rows, cols);
        }
        float[] data = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                data[j * rows + i] = (float) m[i][j];
            }
        }
        return MatrixView.ofFloats(name, data, cols, rows).transposed();
    }

    static double[][] multiply(double[][] a, double[][] b) {
        int m = a.length;
        int k = b.length;
        int n = b[0].length;
        double[][] c = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) {
                    s += a[i][t] * b[t][j];
                }
                c[i][j] = s;
            }
        }
        return c;
    }

    /** Query head h reads kv head h / (nHeads / nKvHeads): copy W_v's head blocks row by row. */
    static double[][] expandKvHeads(double[][] wv, int nHeads, int nKvHeads, int headDim) {
        int group = nHeads / nKvHeads;
        double[][] expanded = new double[nHeads * headDim][];
        for (int h = 0; h < nHeads; h++) {
            int kv = h / group;
            for (int t = 0; t < headDim; t++) {
                expanded[h * headDim + t] = wv[kv * headDim + t].clone();
            }
        }
        return expanded;
    }

    /** (R + p) diag(gamma), R = I when residual, explicitly. */
    static double[][] withResidualAndGain(double[][] p, double[] gamma, boolean residual) {
        int m = p.length;
        int n = p[0].length;
        double[][] r = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double v = p[i][j] + (residual && i == j ? 1 : 0);
                r[i][j] = v * (gamma == null ? 1 : gamma[j]);
            }
        }
        return r;
    }

    static double frobenius(double[][] m) {
        double s = 0;
        for (double[] row : m) {
            for (double v : row) {
                s += v * v;
            }
        }
        return Math.sqrt(s);
    }

    static double attention(double[][] wv, double[][] wo, double[] gamma, int nHeads, int nKvHeads, boolean residual) {
        int headDim = wo[0].length / nHeads;
        double[][] product = multiply(wo, expandKvHeads(wv, nHeads, nKvHeads, headDim));
        return frobenius(withResidualAndGain(product, gamma, residual));
    }

    static double plainMlp(double[][] w1, double[][] w2, double[] gamma, boolean residual) {
        return frobenius(withResidualAndGain(multiply(w2, w1), gamma, residual));
    }

    static double gatedMlp(double[][] gate, double[][] up, double[][] down, double[] gamma) {
        double frob = frobenius(withResidualAndGain(multiply(down, up), gamma, false));
        return frob * largestSingularValue(withResidualAndGain(gate, gamma, false));
    }

    /** One-sided (Hestenes) Jacobi: rotate column pairs until all are orthogonal; singular values = column norms. */
    static double largestSingularValue(double[][] a) {
        int m = a.length;
        int n = a[0].length;
        double[][] u = new double[m][];
        for (int i = 0; i < m; i++) {
            u[i] = a[i].clone();
        }
        for (int sweep = 0; sweep < 60; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (int i = 0; i < m; i++) {
                        alpha += u[i][p] * u[i][p];
                        beta += u[i][q] * u[i][q];
                        gamma += u[i][p] * u[i][q];
                    }
                    if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma == 0) {
                        continue;
                    }
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    for (int i = 0; i < m; i++) {
                        double x = u[i][p];
                        double y = u[i][q];
                        u[i][p] = c * x - s * y;
                        u[i][q] = s * x + c * y;
                    }
                }
            }
            if (!rotated) {
                break;
            }
        }
        double best = 0;
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int i = 0; i < m; i++) {
                s += u[i][j] * u[i][j];
            }
            best = Math.max(best, Math.sqrt(s));
        }
        return best;
    }
}
