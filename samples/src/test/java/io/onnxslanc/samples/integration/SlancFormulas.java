package io.onnxslanc.samples.integration;

/**
 * The SLaNC formulas of docs/method.md written out with plain loops in double, from weights in the math layout
 * (W is out x in, y = W x): the independent reference the calibrator's scales are compared with. The spectral
 * norm comes from a cyclic Jacobi eigen-solver on the Gram matrix, not from power iteration as in the library.
 */
final class SlancFormulas {
    private SlancFormulas() {
    }

    /** s = ||(I + W_o W_v') diag(gamma)||_F, W_v' with query head h reading kv head h / (nHeads / nKvHeads). */
    static double attention(double[][] wv, double[][] wo, double[] gamma, int nHeads, int nKvHeads) {
        int headDim = wo[0].length / nHeads;
        int group = nHeads / nKvHeads;
        double[][] expanded = new double[nHeads * headDim][];
        for (int h = 0; h < nHeads; h++) {
            for (int t = 0; t < headDim; t++) {
                expanded[h * headDim + t] = wv[(h / group) * headDim + t];
            }
        }
        return frobenius(multiply(wo, expanded), gamma, true);
    }

    /** s = ||(I + W_2 W_1) diag(gamma)||_F. */
    static double plainMlp(double[][] w1, double[][] w2, double[] gamma) {
        return frobenius(multiply(w2, w1), gamma, true);
    }

    /** s = ||W_down W_up diag(gamma)||_F * ||W_gate diag(gamma)||_2. */
    static double gatedMlp(double[][] gate, double[][] up, double[][] down, double[] gamma) {
        return frobenius(multiply(down, up), gamma, false) * spectral(gate, gamma);
    }

    /** 2^round(log2 s), rounding up from a mantissa of sqrt(2). */
    static double powerOfTwo(double s) {
        return Math.pow(2, Math.floor(Math.log(s) / Math.log(2) + 0.5));
    }

    static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        int k = b.length;
        int m = b[0].length;
        double[][] c = new double[n][m];
        for (int i = 0; i < n; i++) {
            double[] row = c[i];
            for (int t = 0; t < k; t++) {
                double x = a[i][t];
                double[] bt = b[t];
                for (int j = 0; j < m; j++) {
                    row[j] += x * bt[j];
                }
            }
        }
        return c;
    }

    /** ||(R + m) diag(gamma)||_F with R = I when residual; a null gamma is the identity. */
    static double frobenius(double[][] m, double[] gamma, boolean residual) {
        double sum = 0;
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[i].length; j++) {
                double v = (m[i][j] + (residual && i == j ? 1 : 0)) * (gamma == null ? 1 : gamma[j]);
                sum += v * v;
            }
        }
        return Math.sqrt(sum);
    }

    /** ||W diag(gamma)||_2 = sqrt(largest eigenvalue of (W G)^T (W G)). */
    static double spectral(double[][] w, double[] gamma) {
        int cols = w[0].length;
        double[][] gram = new double[cols][cols];
        for (double[] row : w) {
            for (int i = 0; i < cols; i++) {
                double ri = row[i] * (gamma == null ? 1 : gamma[i]);
                for (int j = 0; j < cols; j++) {
                    gram[i][j] += ri * row[j] * (gamma == null ? 1 : gamma[j]);
                }
            }
        }
        return Math.sqrt(largestEigenvalue(gram));
    }

    /** Cyclic Jacobi rotations until the off-diagonal part vanishes; the eigenvalues are left on the diagonal. */
    static double largestEigenvalue(double[][] symmetric) {
        int n = symmetric.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            a[i] = symmetric[i].clone();
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            double diag = 0;
            for (int i = 0; i < n; i++) {
                diag += a[i][i] * a[i][i];
                for (int j = i + 1; j < n; j++) {
                    off += a[i][j] * a[i][j];
                }
            }
            if (off <= 1e-32 * diag) {
                break;
            }
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) { // A <- A J (columns p, q)
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) { // A <- J^T A (rows p, q)
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                }
            }
        }
        double best = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            best = Math.max(best, a[i][i]);
        }
        return best;
    }
}
