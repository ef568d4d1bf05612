package io.onnxslanc.calibrate.math;

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (used on b x b Ritz matrices). */
final class SymmetricEigen {

    /** Eigenvalues in descending order and eigenvectors as columns: vectors[row * n + column]. */
    record Result(double[] values, double[] vectors) {
    }

    private SymmetricEigen() {
    }

    static Result decompose(double[] symmetric, int n) {
        double[] a = symmetric.clone();
        double[] v = new double[n * n];
        for (int i = 0; i < n; i++) {
            v[i * n + i] = 1.0;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            double all = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = a[i * n + j] * a[i * n + j];
                    all += s;
                    if (i != j) {
                        off += s;
                    }
                }
            }
            if (off <= 1e-30 * all || off == 0) {
                break;
            }
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double apq = a[p * n + q];
                    if (apq == 0) {
                        continue;
                    }
                    // rotation angle that zeroes a[p][q]: tan(2 phi) = 2 apq / (aqq - app), small root for stability
                    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k * n + p];
                        double akq = a[k * n + q];
                        a[k * n + p] = c * akp - s * akq;
                        a[k * n + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p * n + k];
                        double aqk = a[q * n + k];
                        a[p * n + k] = c * apk - s * aqk;
                        a[q * n + k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++) {
                        double vkp = v[k * n + p];
                        double vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        final double[] diagonal = a;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(diagonal[y * n + y], diagonal[x * n + x]));
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        for (int out = 0; out < n; out++) {
            int from = order[out];
            values[out] = a[from * n + from];
            for (int k = 0; k < n; k++) {
                vectors[k * n + out] = v[k * n + from];
            }
        }
        return new Result(values, vectors);
    }
}
