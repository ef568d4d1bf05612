package io.onnxslanc.calibrate.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Exact mode against the explicit float64 reference of {@link ReferenceMath}, to 1e-9 relative. */
class SlancScalesExactTest {

    private static final double TOLERANCE = 1e-9;
    private static final SlancScales.Options EXACT = SlancScales.Options.defaults().alwaysExact()
            .withPowerTolerance(1e-13).withPowerMaxIterations(5000).withThreads(2);

    @ParameterizedTest(name = "d={0} heads={1} kv={2} headDim={3} transposedStorage={4} gamma={5} residual={6}")
    @CsvSource({
            "16, 4, 4, 4, true, true, true",
            "16, 4, 1, 4, false, true, true",
            "32, 8, 2, 4, true, true, true",
            "48, 6, 3, 8, true, false, true",
            "64, 8, 4, 8, false, true, false",
            "96, 12, 4, 8, true, true, true",
            "24, 4, 2, 8, true, true, true",    // headDim * nHeads = 32 != d (W_o is 24 x 32)
            "40, 5, 5, 8, false, true, false",
            "320, 8, 2, 40, true, true, true",  // crosses the 256-column tiles inside a kv head
    })
    void attentionMatchesReference(int d, int nHeads, int nKvHeads, int headDim, boolean transposedStorage,
                                   boolean withGamma, boolean residual) {
        Random random = new Random(d * 31L + nHeads * 7L + nKvHeads);
        double[][] wv = ReferenceMath.randomMatrix(random, nKvHeads * headDim, d, 0.3);
        double[][] wo = ReferenceMath.randomMatrix(random, d, nHeads * headDim, 0.3);
        double[] gamma = withGamma ? ReferenceMath.randomGamma(random, d) : null;
        double expected = ReferenceMath.attention(wv, wo, gamma, nHeads, nKvHeads, residual);

        ScaleResult result = SlancScales.attention(ReferenceMath.view("wv", wv, transposedStorage),
                ReferenceMath.view("wo", wo, !transposedStorage), gamma, nHeads, nKvHeads, EXACT.withResidual(residual));

        ReferenceMath.assertRelative(expected, result.scale(), TOLERANCE);
        assertFalse(result.estimated());
        assertEquals(0, result.probes());
        assertEquals(0.0, result.relativeStdError());
    }

    @Test
    void groupedQueryExpansionInterleavesRatherThanTiles() {
        // with 2 kv heads and 4 query heads the model reads kv heads 0,0,1,1; tiling would read 0,1,0,1
        Random random = new Random(5);
        int d = 16, nHeads = 4, nKv = 2, headDim = 4;
        double[][] wv = ReferenceMath.randomMatrix(random, nKv * headDim, d, 0.5);
        double[][] wo = ReferenceMath.randomMatrix(random, d, d, 0.5);
        double[][] tiled = new double[d][];
        for (int r = 0; r < d; r++) {
            tiled[r] = wv[r % (nKv * headDim)].clone();
        }
        double tiledValue = ReferenceMath.frobenius(ReferenceMath.withResidualAndGain(ReferenceMath.multiply(wo, tiled), null, true));
        double expected = ReferenceMath.attention(wv, wo, null, nHeads, nKv, true);
        double actual = SlancScales.attention(ReferenceMath.view("wv", wv, false), ReferenceMath.view("wo", wo, false),
                null, nHeads, nKv, EXACT).scale();
        ReferenceMath.assertRelative(expected, actual, TOLERANCE);
        assertTrue(Math.abs(tiledValue - expected) > 1e-3 * expected, "test matrices must tell tiling from interleaving");
    }

    @ParameterizedTest(name = "d={0} dff={1} transposedStorage={2} gamma={3} residual={4}")
    @CsvSource({
            "16, 40, true, true, true",
            "32, 24, false, true, true",
            "48, 130, true, false, true",
            "96, 200, true, true, false",
            "70, 300, false, true, true",   // several row tiles and parallel tasks, ragged ends
    })
    void plainMlpMatchesReference(int d, int dff, boolean transposedStorage, boolean withGamma, boolean residual) {
        Random random = new Random(d * 1000L + dff);
        double[][] w1 = ReferenceMath.randomMatrix(random, dff, d, 0.2);
        double[][] w2 = ReferenceMath.randomMatrix(random, d, dff, 0.2);
        double[] gamma = withGamma ? ReferenceMath.randomGamma(random, d) : null;
        double expected = ReferenceMath.plainMlp(w1, w2, gamma, residual);

        ScaleResult result = SlancScales.plainMlp(ReferenceMath.view("w1", w1, transposedStorage),
                ReferenceMath.view("w2", w2, transposedStorage), gamma, EXACT.withResidual(residual));

        ReferenceMath.assertRelative(expected, result.scale(), TOLERANCE);
        assertFalse(result.estimated());
    }

    @ParameterizedTest(name = "d={0} dff={1} transposedStorage={2} gamma={3}")
    @CsvSource({
            "16, 40, true, true",
            "32, 86, false, true",
            "64, 172, true, false",
            "96, 256, true, true",
            "10, 6, false, true",    // d_ff < d
            "16, 603, true, true",   // several row tasks and ragged line groups in the single-vector kernels
            "40, 303, false, true",
    })
    void gatedMlpMatchesReference(int d, int dff, boolean transposedStorage, boolean withGamma) {
        Random random = new Random(d * 7919L + dff);
        double[][] gate = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] up = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] down = ReferenceMath.randomMatrix(random, d, dff, 0.1);
        double[] gamma = withGamma ? ReferenceMath.randomGamma(random, d) : null;
        double expected = ReferenceMath.gatedMlp(gate, up, down, gamma);

        ScaleResult result = SlancScales.gatedMlp(ReferenceMath.view("gate", gate, transposedStorage),
                ReferenceMath.view("up", up, transposedStorage), ReferenceMath.view("down", down, transposedStorage),
                gamma, EXACT);

        ReferenceMath.assertRelative(expected, result.scale(), TOLERANCE);
        assertTrue(result.powerIterations() > 0);
    }

    @Test
    void spectralNormWithDefaultToleranceIsCloseAndReportsResidual() {
        Random random = new Random(77);
        int d = 64, dff = 160;
        double[][] gate = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] up = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] down = ReferenceMath.randomMatrix(random, d, dff, 0.1);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double expected = ReferenceMath.gatedMlp(gate, up, down, gamma);
        ScaleResult result = SlancScales.gatedMlp(ReferenceMath.view("gate", gate, true), ReferenceMath.view("up", up, true),
                ReferenceMath.view("down", down, true), gamma, SlancScales.Options.defaults().alwaysExact());
        // Ritz values approach sigma_1^2 from below: never above the truth, within 1e-4 with the default settings
        assertTrue(result.scale() <= expected * (1 + 1e-12), "the Lanczos Ritz value must not overshoot");
        ReferenceMath.assertRelative(expected, result.scale(), 1e-4);
        assertTrue(result.powerResidual() >= 0 && result.powerResidual() < 1, "residual " + result.powerResidual());
    }

    @Test
    void zeroWeightsGiveZeroScaleNotNaN() {
        int d = 8, dff = 16;
        double[][] zero = new double[dff][d];
        double[][] downZero = new double[d][dff];
        ScaleResult gated = SlancScales.gatedMlp(ReferenceMath.view("gate", zero, false), ReferenceMath.view("up", zero, false),
                ReferenceMath.view("down", downZero, false), null, EXACT);
        assertEquals(0.0, gated.scale());
        assertEquals(1.0, gated.powerOfTwoScale());
        // attention with zero W_o still has the residual: ||I||_F = sqrt(d)
        double[][] wv = new double[d][d];
        ScaleResult attention = SlancScales.attention(ReferenceMath.view("wv", wv, false), ReferenceMath.view("wo", wv, false),
                null, 2, 2, EXACT);
        ReferenceMath.assertRelative(Math.sqrt(d), attention.scale(), 1e-15);
    }

    @Test
    void resultDoesNotDependOnThreadCount() {
        Random random = new Random(3);
        double[][] w1 = ReferenceMath.randomMatrix(random, 300, 80, 0.2);
        double[][] w2 = ReferenceMath.randomMatrix(random, 80, 300, 0.2);
        double[] gamma = ReferenceMath.randomGamma(random, 80);
        double one = SlancScales.plainMlp(ReferenceMath.view("w1", w1, true), ReferenceMath.view("w2", w2, true), gamma,
                EXACT.withThreads(1)).scale();
        double three = SlancScales.plainMlp(ReferenceMath.view("w1", w1, true), ReferenceMath.view("w2", w2, true), gamma,
                EXACT.withThreads(3)).scale();
        assertEquals(one, three);
    }

    @Test
    void shapeMismatchesAreNamed() {
        Random random = new Random(1);
        MatrixView wv = ReferenceMath.view("v_proj", ReferenceMath.randomMatrix(random, 12, 16, 1), false);
        MatrixView wo = ReferenceMath.view("o_proj", ReferenceMath.randomMatrix(random, 16, 16, 1), false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SlancScales.attention(wv, wo, null, 4, 2, EXACT));
        assertTrue(e.getMessage().contains("v_proj") && e.getMessage().contains("nKvHeads * headDim"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SlancScales.attention(wo, wo, null, 4, 3, EXACT));
        assertTrue(e.getMessage().contains("multiple of nKvHeads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SlancScales.attention(wo, wo, new double[15], 4, 4, EXACT));
        assertTrue(e.getMessage().contains("gamma has 15 values"), e.getMessage());
        double[] nanGamma = new double[16];
        nanGamma[3] = Double.NaN;
        e = assertThrows(IllegalArgumentException.class, () -> SlancScales.attention(wo, wo, nanGamma, 4, 4, EXACT));
        assertTrue(e.getMessage().contains("gamma contains NaN at index 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SlancScales.plainMlp(wv, wv, null, EXACT));
        assertTrue(e.getMessage().contains("v_proj"), e.getMessage());
    }

    @Test
    void roundToPowerOfTwoIsNearestInLog2() {
        assertEquals(1.0, SlancScales.roundToPowerOfTwo(1.0));
        assertEquals(1.0, SlancScales.roundToPowerOfTwo(1.414));
        assertEquals(2.0, SlancScales.roundToPowerOfTwo(1.4143));
        assertEquals(4.0, SlancScales.roundToPowerOfTwo(3.0));
        assertEquals(0.5, SlancScales.roundToPowerOfTwo(0.7));
        assertEquals(1.0, SlancScales.roundToPowerOfTwo(0.71));
        assertEquals(4.0, SlancScales.roundToPowerOfTwo(5.6));
        assertEquals(8.0, SlancScales.roundToPowerOfTwo(5.7));
        assertEquals(0x1p126, SlancScales.roundToPowerOfTwo(1e300));
        assertEquals(0x1p-126, SlancScales.roundToPowerOfTwo(Double.MIN_VALUE));
        Random random = new Random(11);
        for (int i = 0; i < 10_000; i++) {
            double s = Math.exp(random.nextDouble() * 60 - 30);
            double log2 = Math.log(s) / Math.log(2);
            if (Math.abs(log2 - Math.floor(log2) - 0.5) < 1e-9) {
                continue; // too close to a tie for the reference's own rounding
            }
            assertEquals(Math.pow(2, Math.round(log2)), SlancScales.roundToPowerOfTwo(s), "s = " + s);
        }
        for (double bad : new double[] {0.0, -1.0, Double.NaN, Double.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SlancScales.roundToPowerOfTwo(bad));
            assertTrue(e.getMessage().contains("positive and finite"), e.getMessage());
        }
    }
}
