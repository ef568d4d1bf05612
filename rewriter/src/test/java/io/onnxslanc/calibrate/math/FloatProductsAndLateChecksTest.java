package io.onnxslanc.calibrate.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The float32 Gram products of the Lanczos iteration on large weights, against the float64 Jacobi SVD and planted
 * singular values, and the finiteness checks that now run only when a product comes out non-finite: the error
 * still names the first bad element in storage order, of the weight checked first.
 */
class FloatProductsAndLateChecksTest {

    private static SpectralNorm.Result lanczos(MatrixView w, double[] gamma, int threads, boolean floatProducts) {
        try (WorkerPool pool = new WorkerPool(threads)) {
            return SpectralNorm.compute(w, gamma, 1e-12, 5000, 17, pool, floatProducts);
        }
    }

    @ParameterizedTest(name = "rows={0} cols={1} transposedStorage={2}")
    @CsvSource({
            "300, 200, true",
            "300, 200, false",
            "517, 90, true",   // ragged groups of eight lines, several tasks
            "90, 517, false",
    })
    void floatProductsMatchTheJacobiSvd(int rows, int cols, boolean transposedStorage) {
        Random random = new Random(rows * 7L + cols);
        double[][] w = ReferenceMath.randomMatrix(random, rows, cols, 0.1);
        double[] gamma = ReferenceMath.randomGamma(random, cols);
        double expected = ReferenceMath.largestSingularValue(ReferenceMath.withResidualAndGain(w, gamma, false));
        MatrixView view = ReferenceMath.view("w", w, transposedStorage);
        SpectralNorm.Result single = lanczos(view, gamma, 2, true);
        // float32 products: ~1e-6 relative, far inside the default tolerance of 1e-3
        ReferenceMath.assertRelative(expected, single.sigma(), 1e-5);
        assertEquals(single, lanczos(view, gamma, 1, true), "float products depend on the thread count");
        assertEquals(single, lanczos(view, gamma, 3, true), "float products depend on the thread count");
    }

    @Test
    void largeWeightsTakeTheFloatPathByDefaultAndFindThePlantedSigma() {
        // 2048 x 2048 = the threshold: rank 4 with a planted top singular value, entries rounded to float
        double[][] planted = SpectralNormTest.withSingularValues(new Random(3), 2048, 2048, new double[] {3.0, 2.0, 1.5, 1.0});
        MatrixView w = ReferenceMath.view("w", planted, true); // stored transposed, as an ONNX MatMul weight
        assertTrue((long) w.rows() * w.cols() >= SpectralNorm.FLOAT_PRODUCTS_MIN_ELEMENTS);
        try (WorkerPool pool = new WorkerPool(2)) {
            SpectralNorm.Result r = SpectralNorm.compute(w, null, 1e-3, 12, 5, pool);
            SpectralNorm.Result exact = SpectralNorm.compute(w, null, 1e-3, 12, 5, pool, false);
            ReferenceMath.assertRelative(3.0, r.sigma(), 1e-5);
            ReferenceMath.assertRelative(exact.sigma(), r.sigma(), 1e-5);
        }
    }

    @Test
    void finiteWeightsWhoseFloatProductsOverflowFallBackToDouble() {
        Random random = new Random(8);
        double[][] w = ReferenceMath.randomMatrix(random, 60, 40, 1e19); // squares ~1e38 x 60 terms: float overflow
        MatrixView view = ReferenceMath.view("w", w, true);
        SpectralNorm.Result viaFloat = lanczos(view, null, 2, true);
        SpectralNorm.Result viaDouble = lanczos(view, null, 2, false);
        assertTrue(Double.isFinite(viaFloat.sigma()) && viaFloat.sigma() > 0, "sigma " + viaFloat.sigma());
        assertEquals(viaDouble, viaFloat);
        ReferenceMath.assertRelative(ReferenceMath.largestSingularValue(ReferenceMath.withResidualAndGain(w, null, false)),
                viaFloat.sigma(), 1e-10);
    }

    @ParameterizedTest(name = "floatProducts={0}")
    @CsvSource({"true", "false"})
    void aNonFiniteWeightInTheLanczosNamesItsFirstBadElement(boolean floatProducts) {
        int rows = 1500;
        int cols = 600;
        float[] stored = new float[rows * cols];
        Random random = new Random(4);
        for (int i = 0; i < stored.length; i++) {
            stored[i] = (float) random.nextGaussian();
        }
        stored[800_123] = Float.NaN; // later in storage order, in another Gram task
        stored[300_007] = Float.NEGATIVE_INFINITY;
        MatrixView w = MatrixView.ofFloats("gate", stored, rows, cols).transposed();
        double[] gamma = new double[rows];
        java.util.Arrays.fill(gamma, 1.0);
        gamma[300_007 / cols] = 0.0; // a zero gain on the infinite line: infinity times zero is NaN, still caught
        for (int threads : new int[] {1, 3}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> lanczos(w, gamma, threads, floatProducts));
            assertTrue(e.getMessage().contains("'gate' contains -Infinity at stored element [500, 7]"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "outstanding rows={0}")
    @CsvSource({"0", "16"})
    void probingChecksBothWeightsInOrderOnlyWhenAProductIsNonFinite(int maxExactRows) {
        Random random = new Random(6);
        int d = 64;
        int dff = 160;
        double[][] down = ReferenceMath.randomMatrix(random, d, dff, 1);
        double[][] up = ReferenceMath.randomMatrix(random, dff, d, 1);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        SlancScales.Options options = SlancScales.Options.defaults().alwaysEstimate();
        up[100][3] = Double.NaN;
        up[20][50] = Double.NaN; // later in up's storage order (transposed storage: stored element [50, 20])
        try (WorkerPool pool = new WorkerPool(3)) {
            MatrixView a = ReferenceMath.view("down", down, true);
            MatrixView b = ReferenceMath.view("up", up, true);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ProductFrobenius.estimate(a, b, b.transposed(), gamma, false, options, maxExactRows, pool));
            assertTrue(e.getMessage().contains("'up' contains NaN at stored element [3, 100]"), e.getMessage());
            down[7][9] = Double.POSITIVE_INFINITY; // both bad: the first weight checked (W_down) is named
            MatrixView a2 = ReferenceMath.view("down", down, true);
            e = assertThrows(IllegalArgumentException.class,
                    () -> ProductFrobenius.estimate(a2, b, b.transposed(), gamma, false, options, maxExactRows, pool));
            assertTrue(e.getMessage().contains("'down' contains Infinity at stored element [9, 7]"), e.getMessage());
        }
    }
}
