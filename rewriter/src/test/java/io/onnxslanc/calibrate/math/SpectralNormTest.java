package io.onnxslanc.calibrate.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Lanczos spectral norm against matrices with known singular values (U diag(s) V^T built here) and against the
 * one-sided Jacobi SVD of {@link ReferenceMath} on the float-rounded weights actually stored.
 */
class SpectralNormTest {

    private static final double TIGHT = 1e-13;

    /** U diag(s) V^T with orthonormal columns from Gram-Schmidt on Gaussian matrices; entries rounded to float. */
    static double[][] withSingularValues(Random random, int rows, int cols, double[] s) {
        double[][] u = orthonormalColumns(random, rows, s.length);
        double[][] v = orthonormalColumns(random, cols, s.length);
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double sum = 0;
                for (int k = 0; k < s.length; k++) {
                    sum += u[i][k] * s[k] * v[j][k];
                }
                m[i][j] = (float) sum;
            }
        }
        return m;
    }

    private static double[][] orthonormalColumns(Random random, int n, int r) {
        double[][] q = new double[n][r];
        for (int c = 0; c < r; c++) {
            double[] col = new double[n];
            for (int i = 0; i < n; i++) {
                col[i] = random.nextGaussian();
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < c; p++) {
                    double dot = 0;
                    for (int i = 0; i < n; i++) {
                        dot += q[i][p] * col[i];
                    }
                    for (int i = 0; i < n; i++) {
                        col[i] -= dot * q[i][p];
                    }
                }
            }
            double norm = 0;
            for (double x : col) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                q[i][c] = col[i] / norm;
            }
        }
        return q;
    }

    /** sigma_1 of W Gamma by the independent Jacobi SVD. */
    private static double reference(double[][] w, double[] gamma) {
        return ReferenceMath.largestSingularValue(ReferenceMath.withResidualAndGain(w, gamma, false));
    }

    private static SpectralNorm.Result lanczos(double[][] w, double[] gamma, boolean transposedStorage, double tolerance,
                                               int maxIterations, int threads) {
        try (WorkerPool pool = new WorkerPool(threads)) {
            return SpectralNorm.compute(ReferenceMath.view("w", w, transposedStorage), gamma, tolerance, maxIterations, 17, pool);
        }
    }

    @ParameterizedTest(name = "rows={0} cols={1} transposedStorage={2} gamma={3}")
    @CsvSource({
            "130, 48, true, true",
            "130, 48, false, true",
            "48, 130, true, true",
            "48, 130, false, false",
            "7, 3, true, true",
            "3, 7, false, true",
            "1, 20, true, false",
            "603, 16, false, true",   // several Gram tasks and ragged line groups
            "16, 603, true, true",
    })
    void randomMatrixMatchesJacobiSvd(int rows, int cols, boolean transposedStorage, boolean withGamma) {
        Random random = new Random(rows * 1000L + cols);
        double[][] w = ReferenceMath.randomMatrix(random, rows, cols, 0.1);
        double[] gamma = withGamma ? ReferenceMath.randomGamma(random, cols) : null;
        double expected = reference(w, gamma);
        SpectralNorm.Result r = lanczos(w, gamma, transposedStorage, TIGHT, 5000, 2);
        ReferenceMath.assertRelative(expected, r.sigma(), 1e-10);
        assertTrue(r.sigma() <= expected * (1 + 1e-13), "Ritz value above sigma_1");
        assertTrue(r.iterations() >= 1 && r.iterations() <= Math.min(rows, cols) + Math.max(rows, cols),
                r.iterations() + " steps");
    }

    @ParameterizedTest(name = "transposedStorage={0}")
    @CsvSource({"true", "false"})
    void knownSingularValuesWithClusteredTop(boolean transposedStorage) {
        Random random = new Random(5);
        double[] s = new double[30];
        for (int k = 0; k < s.length; k++) {
            s[k] = k < 4 ? 3.0 - 1e-6 * k : 2.0 * Math.pow(0.9, k); // four top values within 3e-6 of each other
        }
        double[][] w = withSingularValues(random, 90, 60, s);
        SpectralNorm.Result r = lanczos(w, null, transposedStorage, TIGHT, 5000, 2);
        ReferenceMath.assertRelative(reference(w, null), r.sigma(), 1e-10);
        ReferenceMath.assertRelative(3.0, r.sigma(), 1e-6); // float rounding of the entries moves sigma by ~1e-7
        // the default (loose) tolerance still lands in the cluster: sigma within 1e-4 of the top
        SpectralNorm.Result loose = lanczos(w, null, transposedStorage, SlancScales.Options.DEFAULT_POWER_TOLERANCE,
                SlancScales.Options.DEFAULT_POWER_MAX_ITERATIONS, 2);
        ReferenceMath.assertRelative(3.0, loose.sigma(), 1e-4);
    }

    @ParameterizedTest(name = "transposedStorage={0}")
    @CsvSource({"true", "false"})
    void rankDeficientMatrixStopsWhenTheKrylovSpaceIsExhausted(boolean transposedStorage) {
        Random random = new Random(9);
        double[][] w = withSingularValues(random, 60, 40, new double[] {5.0, 2.0, 0.5});
        SpectralNorm.Result r = lanczos(w, null, transposedStorage, 0.0, 5000, 1);
        ReferenceMath.assertRelative(reference(w, null), r.sigma(), 1e-10);
        // rank 3 (plus rounding noise of the float entries, ~1e-7): the Ritz value is exact after a few steps
        assertTrue(r.iterations() <= 40, r.iterations() + " steps");
    }

    @Test
    void zeroMatrixAndZeroGainGiveZero() {
        double[][] zero = new double[20][12];
        SpectralNorm.Result r = lanczos(zero, null, true, TIGHT, 100, 2);
        assertEquals(0.0, r.sigma());
        assertEquals(0.0, r.relativeResidual());
        double[][] w = ReferenceMath.randomMatrix(new Random(1), 20, 12, 1);
        assertEquals(0.0, lanczos(w, new double[12], false, TIGHT, 100, 2).sigma());
        assertEquals(0.0, lanczos(w, new double[12], true, TIGHT, 100, 2).sigma());
    }

    @ParameterizedTest(name = "transposedStorage={0}")
    @CsvSource({"true", "false"})
    void gainWithOutliersAndZerosMatchesReference(boolean transposedStorage) {
        Random random = new Random(21);
        int rows = 200, cols = 64;
        double[][] w = ReferenceMath.randomMatrix(random, rows, cols, 0.05);
        double[] gamma = new double[cols];
        for (int j = 0; j < cols; j++) {
            gamma[j] = j % 7 == 0 ? 0.0 : 1.0 + random.nextDouble();
        }
        gamma[5] = 300; // one dominant channel: sigma_1 ~ 300 ||W[:, 5]||
        gamma[40] = -120;
        SpectralNorm.Result r = lanczos(w, gamma, transposedStorage, TIGHT, 5000, 2);
        ReferenceMath.assertRelative(reference(w, gamma), r.sigma(), 1e-10);
    }

    @Test
    void resultDoesNotDependOnThreadCount() {
        Random random = new Random(4);
        double[][] w = ReferenceMath.randomMatrix(random, 700, 90, 0.1);
        double[] gamma = ReferenceMath.randomGamma(random, 90);
        for (boolean transposed : new boolean[] {true, false}) {
            SpectralNorm.Result one = lanczos(w, gamma, transposed, 1e-6, 8, 1);
            SpectralNorm.Result three = lanczos(w, gamma, transposed, 1e-6, 8, 3);
            assertEquals(one, three);
        }
    }

    @Test
    void residualBoundsTheDistanceToAnEigenvalue() {
        // stopped early, the reported relative residual r bounds |lambda - theta| / theta <= r for the eigenvalue
        // lambda of W^T W nearest to theta (the s_k^2, up to the float rounding of the entries)
        Random random = new Random(13);
        double[] s = new double[40];
        for (int k = 0; k < s.length; k++) {
            s[k] = k == 0 ? 2.0 : 1.5 * Math.pow(0.97, k);
        }
        double[][] w = withSingularValues(random, 120, 80, s);
        double exact = reference(w, null);
        for (int steps = 2; steps <= 6; steps++) {
            SpectralNorm.Result r = lanczos(w, null, true, 0.0, steps, 1);
            assertEquals(steps, r.iterations());
            double theta = r.sigma() * r.sigma();
            double nearest = Double.POSITIVE_INFINITY;
            for (double sk : s) {
                nearest = Math.min(nearest, Math.abs(sk * sk - theta) / theta);
            }
            assertTrue(nearest <= r.relativeResidual() + 1e-6,
                    "steps " + steps + ": distance " + nearest + " > residual " + r.relativeResidual());
            assertTrue(r.sigma() <= exact * (1 + 1e-13));
        }
    }

    @Test
    void needsFarFewerPassesThanThePowerMethod() {
        // sigma_2 / sigma_1 = 0.99: the power method's error shrinks by 0.98 per pass, Lanczos' much faster
        Random random = new Random(31);
        double[] s = new double[60];
        for (int k = 0; k < s.length; k++) {
            s[k] = k == 0 ? 1.0 : 0.99 * Math.pow(0.995, k - 1);
        }
        double[][] w = withSingularValues(random, 150, 100, s);
        double exact = reference(w, null);
        int lanczosSteps = 0;
        for (int steps = 1; steps <= 100; steps++) {
            if (lanczos(w, null, true, 0.0, steps, 1).sigma() >= exact * (1 - 1e-8)) {
                lanczosSteps = steps;
                break;
            }
        }
        int powerSteps = powerIterationsTo(w, exact, 1e-8);
        assertTrue(lanczosSteps > 0 && 5 * lanczosSteps < powerSteps,
                "Lanczos " + lanczosSteps + " passes, power method " + powerSteps);
    }

    /** Plain power iteration on W^T W (written here, independent of the production code): passes to reach 1 - eps. */
    private static int powerIterationsTo(double[][] w, double exact, double eps) {
        int m = w.length;
        int n = w[0].length;
        Random random = new Random(2);
        double[] v = new double[n];
        for (int j = 0; j < n; j++) {
            v[j] = random.nextDouble() * 2 - 1;
        }
        for (int it = 1; it <= 100_000; it++) {
            double norm = 0;
            for (double x : v) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            double[] y = new double[m];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    y[i] += w[i][j] * v[j] / norm;
                }
            }
            double sigma = 0;
            for (double x : y) {
                sigma += x * x;
            }
            if (Math.sqrt(sigma) >= exact * (1 - eps)) {
                return it;
            }
            double[] u = new double[n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    u[j] += w[i][j] * y[i];
                }
            }
            v = u;
        }
        return Integer.MAX_VALUE;
    }
}
