package io.onnxslanc.calibrate;

/**
 * The SLaNC formulas of docs/method.md written out with naive loops in double, from raw weight arrays: the
 * independent reference the calibrator is compared with.
 */
public final class SlancReference {
    private SlancReference() {
    }

    /** W [out x in] from an ONNX MatMul B operand stored row-major as [in x out] (B = W^T). */
    public static double[][] fromMatMulB(float[] b, int in, int out) {
        double[][] w = new double[out][in];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                w[o][i] = b[i * out + o];
            }
        }
        return w;
    }

    /** W [out x in] stored as is (Gemm transB=1, or an initializer behind a Transpose). */
    public static double[][] fromStored(float[] w, int out, int in) {
        double[][] m = new double[out][in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                m[o][i] = w[o * in + i];
            }
        }
        return m;
    }

    public static double[][] rows(double[][] w, int from, int to) {
        double[][] out = new double[to - from][];
        for (int r = from; r < to; r++) {
            out[r - from] = w[r].clone();
        }
        return out;
    }

    public static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    public static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        int k = b.length;
        int m = b[0].length;
        double[][] c = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) {
                    s += a[i][t] * b[t][j];
                }
                c[i][j] = s;
            }
        }
        return c;
    }

    /** ||(R + M) diag(gamma)||_F with R = I when {@code residual}. */
    public static double frobenius(double[][] m, double[] gamma, boolean residual) {
        double s = 0;
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                double v = m[i][j] + (residual && i == j ? 1 : 0);
                double g = gamma == null ? 1 : gamma[j];
                s += v * v * g * g;
            }
        }
        return Math.sqrt(s);
    }

    /** s = ||(I + W_o W_v_expanded) Gamma||_F, query head h reading kv head h / (nHeads / nKv). */
    public static double attention(double[][] wv, double[][] wo, double[] gamma, int nHeads, int nKv) {
        int headDim = wo[0].length / nHeads;
        int group = nHeads / nKv;
        double[][] expanded = new double[nHeads * headDim][];
        for (int c = 0; c < nHeads * headDim; c++) {
            int head = c / headDim;
            int kvRow = (head / group) * headDim + c % headDim;
            expanded[c] = wv[kvRow].clone();
        }
        return frobenius(multiply(wo, expanded), gamma, true);
    }

    /** W_v expanded to one block per query head: head h reads kv head h / group, or h mod nKv when tiled. */
    public static double[][] expandHeads(double[][] wv, int headDim, int nHeads, int nKv, boolean tiled) {
        int group = nHeads / nKv;
        double[][] expanded = new double[nHeads * headDim][];
        for (int c = 0; c < nHeads * headDim; c++) {
            int head = c / headDim;
            int kv = tiled ? head % nKv : head / group;
            expanded[c] = wv[kv * headDim + c % headDim].clone();
        }
        return expanded;
    }

    /** s = ||(I + W_o W_v_expanded) Gamma||_F with kv heads repeated as a whole (query head h reads h mod nKv). */
    public static double attentionTiled(double[][] wv, double[][] wo, double[] gamma, int nHeads, int nKv) {
        return frobenius(multiply(wo, expandHeads(wv, wo[0].length / nHeads, nHeads, nKv, true)), gamma, true);
    }

    /** s^2 = ||Gamma_prev||_F^2 + ||W_o W_v Gamma_mem||_F^2 (docs/method.md). */
    public static double crossAttention(double[][] wv, double[][] wo, double[] gammaPrev, double[] gammaMem) {
        double prev = 0;
        for (int i = 0; i < wo.length; i++) {
            double g = gammaPrev == null ? 1 : gammaPrev[i];
            prev += g * g;
        }
        double product = frobenius(multiply(wo, wv), gammaMem, false);
        return Math.sqrt(prev + product * product);
    }

    /** s = ||(I + W_o W_v + W_2 W_1) Gamma||_F: both branches summed before the norm. */
    public static double parallel(double[][] wv, double[][] wo, double[][] w1, double[][] w2, double[] gamma) {
        double[][] a = multiply(wo, wv);
        double[][] m = multiply(w2, w1);
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                a[i][j] += m[i][j];
            }
        }
        return frobenius(a, gamma, true);
    }

    public static double plainMlp(double[][] w1, double[][] w2, double[] gamma) {
        return frobenius(multiply(w2, w1), gamma, true);
    }

    public static double gatedMlp(double[][] gate, double[][] up, double[][] down, double[] gamma) {
        return frobenius(multiply(down, up), gamma, false) * spectral(gate, gamma);
    }

    /** ||W diag(gamma)||_2 by power iteration on (W G)^T (W G) until the Rayleigh quotient stops moving. */
    public static double spectral(double[][] w, double[] gamma) {
        int rows = w.length;
        int cols = w[0].length;
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m[i][j] = w[i][j] * (gamma == null ? 1 : gamma[j]);
            }
        }
        double[] v = new double[cols];
        for (int j = 0; j < cols; j++) {
            v[j] = 1 + 0.01 * j;
        }
        double lambda = 0;
        for (int it = 0; it < 100000; it++) {
            double[] mv = new double[rows];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    mv[i] += m[i][j] * v[j];
                }
            }
            double[] next = new double[cols];
            for (int j = 0; j < cols; j++) {
                for (int i = 0; i < rows; i++) {
                    next[j] += m[i][j] * mv[i];
                }
            }
            double norm = 0;
            double dot = 0;
            for (int j = 0; j < cols; j++) {
                norm += next[j] * next[j];
                dot += next[j] * v[j];
            }
            double vv = 0;
            for (double x : v) {
                vv += x * x;
            }
            double rayleigh = dot / vv;
            norm = Math.sqrt(norm);
            for (int j = 0; j < cols; j++) {
                v[j] = next[j] / norm;
            }
            if (it > 50 && Math.abs(rayleigh - lambda) <= 1e-15 * rayleigh) {
                return Math.sqrt(rayleigh);
            }
            lambda = rayleigh;
        }
        return Math.sqrt(lambda);
    }

    /** The largest Euclidean norm of a row of a row-major table with {@code cols} columns. */
    public static double maxRowNorm(float[] table, int cols) {
        double max = 0;
        for (int r = 0; r < table.length / cols; r++) {
            double ss = 0;
            for (int j = 0; j < cols; j++) {
                ss += (double) table[r * cols + j] * table[r * cols + j];
            }
            max = Math.max(max, Math.sqrt(ss));
        }
        return max;
    }

    /** 2^round(log2 s). */
    public static double powerOfTwo(double s) {
        return Math.pow(2, Math.round(Math.log(s) / Math.log(2)));
    }
}
