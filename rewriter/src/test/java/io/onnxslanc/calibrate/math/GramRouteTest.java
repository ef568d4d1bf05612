package io.onnxslanc.calibrate.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The exact Frobenius norm of a product by the Gram route, <A^T A, B Gamma^2 B^T>, against the dense float64 product
 * (ReferenceMath) and against the product route, on shapes where the inner dimension is small (grouped-query
 * attention: W_o with its heads folded per kv group is d x n_kv head_dim), with either storage order.
 */
class GramRouteTest {

    @ParameterizedTest(name = "m={0} k={1} n={2} residual={3} gamma={4} transposedStorage={5}")
    @CsvSource({"48, 8, 48, true, true, true", "48, 8, 48, false, true, false", "40, 12, 40, true, false, false",
            "30, 5, 70, false, false, true", "64, 16, 64, true, true, false"})
    void gramRouteEqualsTheDenseProduct(int m, int k, int n, boolean residual, boolean withGamma, boolean transposed) {
        Random random = new Random(31L * m + k + (residual ? 1 : 0));
        double[][] a = ReferenceMath.randomMatrix(random, m, k, 0.4);
        double[][] b = ReferenceMath.randomMatrix(random, k, n, 0.7);
        double[] gamma = withGamma ? ReferenceMath.randomGamma(random, n) : null;
        double dense = square(ReferenceMath.frobenius(
                ReferenceMath.withResidualAndGain(ReferenceMath.multiply(a, b), gamma, residual)));
        MatrixView va = ReferenceMath.view("a", a, transposed);
        MatrixView vb = ReferenceMath.view("b", b, !transposed);
        assertTrue(ProductFrobenius.gramCost(va, vb) < ProductFrobenius.productCost(va, vb), "the Gram route is the cheaper one here");
        for (int threads : new int[] {1, 3}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                double grams = ProductFrobenius.exactByGrams(va, vb, gamma, residual, pool);
                double product = ProductFrobenius.exactByProduct(va, vb, gamma, residual, pool);
                ReferenceMath.assertRelative(dense, grams, 1e-12);
                ReferenceMath.assertRelative(product, grams, 1e-12);
                assertEquals(grams, ProductFrobenius.exact(va, vb, gamma, residual, pool), 0.0, "exact() takes the Gram route");
            }
        }
    }

    @ParameterizedTest(name = "heads={0} kv={1} tiled={2}")
    @CsvSource({"8, 2, false", "8, 2, true", "6, 1, false", "4, 4, false"})
    void groupedQueryAttentionIsExactThroughTheGramRoute(int heads, int kvHeads, boolean tiled) {
        Random random = new Random(heads * 7L + kvHeads);
        int headDim = 6;
        int d = heads * headDim;
        double[][] wv = ReferenceMath.randomMatrix(random, kvHeads * headDim, d, 0.3);
        double[][] wo = ReferenceMath.randomMatrix(random, d, d, 0.3);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double[][] expanded = tiled ? tile(wv, heads, kvHeads, headDim) : ReferenceMath.expandKvHeads(wv, heads, kvHeads, headDim);
        double dense = ReferenceMath.frobenius(ReferenceMath.withResidualAndGain(ReferenceMath.multiply(wo, expanded), gamma, true));
        ScaleResult s = SlancScales.attention(ReferenceMath.view("wv", wv, true), ReferenceMath.view("wo", wo, true), gamma,
                heads, kvHeads, tiled, SlancScales.Options.defaults().withThreads(2));
        ReferenceMath.assertRelative(dense, s.scale(), 1e-12);
        assertTrue(!s.estimated());
    }

    /** Query head h reads kv head h mod kvHeads. */
    private static double[][] tile(double[][] wv, int heads, int kvHeads, int headDim) {
        double[][] out = new double[heads * headDim][];
        for (int h = 0; h < heads; h++) {
            for (int r = 0; r < headDim; r++) {
                out[h * headDim + r] = wv[(h % kvHeads) * headDim + r];
            }
        }
        return out;
    }

    private static double square(double v) {
        return v * v;
    }
}
