package io.onnxslanc.calibrate.math;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Probed Frobenius norm with "massive activation" rows (a few output rows of W_2 / W_down 50x the rest, as the
 * synthetic 7B generator makes them): against the dense float64 value, and against the Rademacher variance
 * 2 sum_{j != l} (M^T M)_jl^2 computed here from the explicit product, with and without the exact rows.
 */
class ProductFrobeniusTest {

    private static final int[] MASSIVE = {3, 17, 18, 40};
    private static final double MASSIVE_SCALE = 50;

    /** W_2 [d x dff] with rows MASSIVE scaled; W_1 [dff x d]. */
    private static double[][][] plainMlp(Random random, int d, int dff) {
        double[][] w1 = ReferenceMath.randomMatrix(random, dff, d, 0.2);
        double[][] w2 = ReferenceMath.randomMatrix(random, d, dff, 0.2);
        for (int r : MASSIVE) {
            for (int j = 0; j < dff; j++) {
                w2[r][j] = (float) (w2[r][j] * MASSIVE_SCALE);
            }
        }
        return new double[][][] {w1, w2};
    }

    /**
     * Relative standard error of s from N Rademacher probes of the rows of M = A B Gamma not in {@code exactRows},
     * with {@code total} = the full ||(R + A B) Gamma||_F^2: sqrt(2 sum_{j != l} G_jl^2 / N) / (2 total).
     */
    private static double predictedRelativeError(double[][] m, boolean[] exactRows, int probes, double total) {
        int n = m[0].length;
        double offDiagonal = 0;
        for (int j = 0; j < n; j++) {
            for (int l = 0; l < n; l++) {
                if (j == l) {
                    continue;
                }
                double g = 0;
                for (int i = 0; i < m.length; i++) {
                    if (!exactRows[i]) {
                        g += m[i][j] * m[i][l];
                    }
                }
                offDiagonal += g * g;
            }
        }
        return Math.sqrt(2 * offDiagonal / probes) / (2 * total);
    }

    private static ProductFrobenius.Result estimate(double[][] w1, double[][] w2, double[] gamma, boolean residual,
                                                    int probes, int maxExactRows, long seed) {
        SlancScales.Options options = SlancScales.Options.defaults().alwaysEstimate().withProbes(probes)
                .withMaxProbes(probes).withSeed(seed).withThreads(2);
        MatrixView a = ReferenceMath.view("w2", w2, true);
        MatrixView b = ReferenceMath.view("w1", w1, true);
        try (WorkerPool pool = new WorkerPool(2)) {
            return ProductFrobenius.estimate(a, b, b.transposed(), gamma, residual, options, maxExactRows, pool);
        }
    }

    @ParameterizedTest(name = "residual={0} gamma={1}")
    @CsvSource({"false, true", "true, true", "false, false", "true, false"})
    void massiveRowsAreTakenOutOfTheProbing(boolean residual, boolean withGamma) {
        Random random = new Random(residual ? 11 : 12);
        int d = 64, dff = 150;
        double[][][] w = plainMlp(random, d, dff);
        double[] gamma = withGamma ? ReferenceMath.randomGamma(random, d) : null;
        double exact = ReferenceMath.plainMlp(w[0], w[1], gamma, residual);
        double[][] product = ReferenceMath.withResidualAndGain(ReferenceMath.multiply(w[1], w[0]), gamma, false);
        boolean[] none = new boolean[d];
        boolean[] massive = new boolean[d];
        for (int r : MASSIVE) {
            massive[r] = true;
        }
        int probes = 64;
        double oldPredicted = predictedRelativeError(product, none, probes, exact * exact);
        double newPredicted = predictedRelativeError(product, massive, probes, exact * exact);

        ProductFrobenius.Result plain = estimate(w[0], w[1], gamma, residual, probes, 0, 1);
        ProductFrobenius.Result deflated = estimate(w[0], w[1], gamma, residual, probes, probes, 1);
        double sPlain = Math.sqrt(plain.squaredNorm());
        double sDeflated = Math.sqrt(deflated.squaredNorm());
        // each estimator's reported error agrees with its predicted one (64 probes: the sample std is good to ~20%;
        // the plain one, dominated by a rank-4 Gram matrix, has heavier tails, so a wider band)
        assertEquals(newPredicted, deflated.relativeStdError(), 0.35 * newPredicted, "deflated reported vs predicted");
        assertEquals(oldPredicted, plain.relativeStdError(), 0.6 * oldPredicted, "plain reported vs predicted");
        // the massive rows carry the variance: taking them out cuts the standard error by far more than 10x
        assertTrue(newPredicted * 20 < oldPredicted, "predicted " + newPredicted + " vs " + oldPredicted);
        assertTrue(deflated.relativeStdError() * 10 < plain.relativeStdError(),
                "reported " + deflated.relativeStdError() + " vs " + plain.relativeStdError());
        assertTrue(Math.abs(sDeflated - exact) <= 4 * newPredicted * exact,
                "deflated " + sDeflated + " vs exact " + exact + " (predicted error " + newPredicted + ")");
        assertTrue(Math.abs(sPlain - exact) <= 4 * oldPredicted * exact);
    }

    @Test
    void deflatedEstimateIsUnbiasedOverSeeds() {
        // the mean over seeds of the squared-norm estimate converges to the exact value; the spread matches
        Random random = new Random(5);
        int d = 48, dff = 96;
        double[][][] w = plainMlp(random, d, dff);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double exact = ReferenceMath.plainMlp(w[0], w[1], gamma, true);
        int seeds = 60;
        double sum = 0;
        double sumSquares = 0;
        double reported = 0;
        for (int seed = 0; seed < seeds; seed++) {
            ProductFrobenius.Result r = estimate(w[0], w[1], gamma, true, 16, 16, seed);
            double relative = r.squaredNorm() / (exact * exact) - 1;
            sum += relative;
            sumSquares += relative * relative;
            reported += r.relativeStdError();
        }
        double mean = sum / seeds;
        double spread = Math.sqrt(sumSquares / seeds - mean * mean); // of s^2, twice the relative spread of s
        double meanReported = 2 * reported / seeds;
        assertTrue(Math.abs(mean) < 4 * spread / Math.sqrt(seeds), "bias " + mean + " with spread " + spread);
        assertTrue(spread < 1.5 * meanReported && spread > meanReported / 1.5, "spread " + spread + " vs reported " + meanReported);
    }

    @Test
    void gatedMlpWithMassiveDownRowsIsWithinReportedError() {
        Random random = new Random(23);
        int d = 64, dff = 172;
        double[][] gate = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][][] w = plainMlp(random, d, dff);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double exact = ReferenceMath.gatedMlp(gate, w[0], w[1], gamma);
        SlancScales.Options options = SlancScales.Options.defaults().alwaysEstimate().withThreads(2)
                .withPowerTolerance(1e-13).withPowerMaxIterations(5000);
        ScaleResult r = SlancScales.gatedMlp(ReferenceMath.view("gate", gate, true), ReferenceMath.view("up", w[0], true),
                ReferenceMath.view("down", w[1], true), gamma, options);
        assertEquals(options.probes(), r.probes(), "one batch reaches the target error");
        assertTrue(r.relativeStdError() <= options.targetRelativeError());
        assertTrue(Math.abs(r.scale() - exact) <= 4 * r.relativeStdError() * exact,
                "estimate " + r.scale() + " vs exact " + exact + ", reported " + r.relativeStdError());
    }

    @Test
    void outstandingRowsAreTheLargestAboveTheThreshold() {
        double[] norms = {1, 1.1, 0.9, 50, 1, 4.5, 3.9, 1000, 1, 1};
        // median 1 (sorted: 0.9 1 1 1 1 1.1 3.9 4.5 50 1000, lower middle): threshold 4
        assertArrayEquals(new int[] {3, 5, 7}, ProductFrobenius.outstandingRows(norms, 5));
        assertArrayEquals(new int[] {3, 7}, ProductFrobenius.outstandingRows(norms, 2));
        assertArrayEquals(new int[0], ProductFrobenius.outstandingRows(new double[] {1, 2, 3, 1, 2}, 5));
        assertArrayEquals(new int[0], ProductFrobenius.outstandingRows(new double[] {0, 0, 0}, 5));
    }

    @Test
    void rowSquaredNormsMatchBothStorages() {
        Random random = new Random(2);
        double[][] m = ReferenceMath.randomMatrix(random, 37, 530, 1);
        double[] expected = new double[37];
        for (int i = 0; i < 37; i++) {
            for (double v : m[i]) {
                expected[i] += v * v;
            }
        }
        try (WorkerPool pool = new WorkerPool(3)) {
            for (boolean transposed : new boolean[] {true, false}) {
                double[] actual = BlockKernels.rowSquaredNorms(ReferenceMath.view("m", m, transposed), pool);
                for (int i = 0; i < 37; i++) {
                    // transposed storage (the ONNX MatMul layout) sums float squares in float within a task
                    assertEquals(expected[i], actual[i], (transposed ? 1e-5 : 1e-12) * expected[i]);
                }
            }
        }
    }
}
