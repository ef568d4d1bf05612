package io.onnxslanc.calibrate.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Probing mode: the reported standard error must cover the distance to the float64 reference. */
class SlancScalesEstimateTest {

    private static final SlancScales.Options ESTIMATE = SlancScales.Options.defaults().alwaysEstimate()
            .withProbes(32).withMaxProbes(4096).withTargetRelativeError(0.005).withThreads(2)
            .withPowerTolerance(1e-13).withPowerMaxIterations(5000);

    private static void assertWithinReportedError(double exact, ScaleResult estimate) {
        assertTrue(estimate.estimated());
        assertTrue(estimate.probes() >= 32);
        assertTrue(estimate.relativeStdError() > 0 && estimate.relativeStdError() <= 0.005,
                "reported error " + estimate.relativeStdError() + " after " + estimate.probes() + " probes");
        double distance = Math.abs(estimate.scale() - exact);
        assertTrue(distance <= 4 * estimate.relativeStdError() * exact,
                "estimate " + estimate.scale() + " vs exact " + exact + ": relative distance " + distance / exact
                        + ", reported std error " + estimate.relativeStdError());
    }

    @ParameterizedTest(name = "d={0} heads={1} kv={2} gamma={3} residual={4} seed={5}")
    @CsvSource({
            "32, 8, 2, true, true, 1",
            "64, 8, 8, true, true, 2",
            "96, 12, 4, false, true, 3",
            "48, 6, 3, true, false, 4",
            "96, 12, 1, true, false, 5",
    })
    void attentionEstimateIsWithinReportedError(int d, int nHeads, int nKvHeads, boolean withGamma, boolean residual, long seed) {
        Random random = new Random(seed);
        int headDim = d / nHeads;
        double[][] wv = ReferenceMath.randomMatrix(random, nKvHeads * headDim, d, 0.3);
        double[][] wo = ReferenceMath.randomMatrix(random, d, d, 0.3);
        double[] gamma = withGamma ? ReferenceMath.randomGamma(random, d) : null;
        double exact = ReferenceMath.attention(wv, wo, gamma, nHeads, nKvHeads, residual);
        ScaleResult estimate = SlancScales.attention(ReferenceMath.view("wv", wv, true), ReferenceMath.view("wo", wo, true),
                gamma, nHeads, nKvHeads, ESTIMATE.withResidual(residual).withSeed(seed));
        assertWithinReportedError(exact, estimate);
    }

    @ParameterizedTest(name = "correlation={0}")
    @CsvSource({"1.0", "-0.4"})
    void attentionWithLargeResidualCrossTermIsWithinReportedError(double correlation) {
        // W_v close to c W_o^T makes diag(W_o W_v) large (c > 0) or cancel part of the identity (c < 0), so the
        // exactly computed cross term 2 sum gamma_i^2 (W_o W_v)_ii carries much of the result
        Random random = new Random(17);
        int d = 64;
        double[][] wo = ReferenceMath.randomMatrix(random, d, d, 1 / Math.sqrt(d));
        double[][] wv = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                wv[i][j] = (float) (correlation * wo[j][i] + 0.05 * random.nextGaussian());
            }
        }
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double exact = ReferenceMath.attention(wv, wo, gamma, 8, 8, true);
        double withoutCross = ReferenceMath.frobenius(ReferenceMath.withResidualAndGain(ReferenceMath.multiply(wo, wv), gamma, false));
        assertTrue(Math.abs(exact * exact - withoutCross * withoutCross - ReferenceMath.frobenius(
                ReferenceMath.withResidualAndGain(new double[d][d], gamma, true)) * ReferenceMath.frobenius(
                ReferenceMath.withResidualAndGain(new double[d][d], gamma, true))) > 0.2 * exact * exact,
                "the test needs a cross term that matters");
        ScaleResult estimate = SlancScales.attention(ReferenceMath.view("wv", wv, true), ReferenceMath.view("wo", wo, false),
                gamma, 8, 8, ESTIMATE);
        assertWithinReportedError(exact, estimate);
    }

    @ParameterizedTest(name = "d={0} dff={1} residual={2}")
    @CsvSource({
            "32, 86, true",
            "64, 40, false",
            "96, 256, true",
    })
    void plainMlpEstimateIsWithinReportedError(int d, int dff, boolean residual) {
        Random random = new Random(d + dff);
        double[][] w1 = ReferenceMath.randomMatrix(random, dff, d, 0.2);
        double[][] w2 = ReferenceMath.randomMatrix(random, d, dff, 0.2);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double exact = ReferenceMath.plainMlp(w1, w2, gamma, residual);
        ScaleResult estimate = SlancScales.plainMlp(ReferenceMath.view("w1", w1, false), ReferenceMath.view("w2", w2, true),
                gamma, ESTIMATE.withResidual(residual));
        assertWithinReportedError(exact, estimate);
    }

    @ParameterizedTest(name = "d={0} dff={1}")
    @CsvSource({
            "32, 86",
            "64, 172",
            "96, 256",
    })
    void gatedMlpEstimateIsWithinReportedError(int d, int dff) {
        Random random = new Random(d * 3L + dff);
        double[][] gate = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] up = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] down = ReferenceMath.randomMatrix(random, d, dff, 0.1);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double exact = ReferenceMath.gatedMlp(gate, up, down, gamma);
        ScaleResult estimate = SlancScales.gatedMlp(ReferenceMath.view("gate", gate, true), ReferenceMath.view("up", up, true),
                ReferenceMath.view("down", down, true), gamma, ESTIMATE);
        assertWithinReportedError(exact, estimate);
    }

    @Test
    void reportedErrorIsCalibratedOverManySeeds() {
        // the std error is a std error: over 40 seeds about 68% of estimates fall within one reported error,
        // and the observed spread of the estimates agrees with the reported error within a factor of 1.5
        Random random = new Random(99);
        int d = 48, dff = 120;
        double[][] w1 = ReferenceMath.randomMatrix(random, dff, d, 0.2);
        double[][] w2 = ReferenceMath.randomMatrix(random, d, dff, 0.2);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        double exact = ReferenceMath.plainMlp(w1, w2, gamma, false);
        SlancScales.Options fixed = ESTIMATE.withResidual(false).withProbes(64).withMaxProbes(64);
        int seeds = 40;
        int inside = 0;
        double squaredDeviation = 0;
        double reported = 0;
        for (int seed = 0; seed < seeds; seed++) {
            ScaleResult r = SlancScales.plainMlp(ReferenceMath.view("w1", w1, true), ReferenceMath.view("w2", w2, true),
                    gamma, fixed.withSeed(seed));
            double relative = (r.scale() - exact) / exact;
            squaredDeviation += relative * relative;
            reported += r.relativeStdError();
            if (Math.abs(relative) <= r.relativeStdError()) {
                inside++;
            }
        }
        double observed = Math.sqrt(squaredDeviation / seeds);
        double meanReported = reported / seeds;
        assertTrue(observed < 1.5 * meanReported && observed > meanReported / 1.5,
                "observed spread " + observed + " vs mean reported error " + meanReported);
        assertTrue(inside >= 18 && inside <= 36, inside + " of " + seeds + " within one std error");
    }

    @Test
    void sameSeedGivesIdenticalResultWhateverTheThreads() {
        Random random = new Random(8);
        int d = 64, dff = 300;
        double[][] gate = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] up = ReferenceMath.randomMatrix(random, dff, d, 0.1);
        double[][] down = ReferenceMath.randomMatrix(random, d, dff, 0.1);
        double[] gamma = ReferenceMath.randomGamma(random, d);
        SlancScales.Options options = SlancScales.Options.defaults().alwaysEstimate();
        ScaleResult a = SlancScales.gatedMlp(ReferenceMath.view("gate", gate, true), ReferenceMath.view("up", up, true),
                ReferenceMath.view("down", down, true), gamma, options.withThreads(1));
        ScaleResult b = SlancScales.gatedMlp(ReferenceMath.view("gate", gate, true), ReferenceMath.view("up", up, true),
                ReferenceMath.view("down", down, true), gamma, options.withThreads(3));
        ScaleResult c = SlancScales.gatedMlp(ReferenceMath.view("gate", gate, true), ReferenceMath.view("up", up, true),
                ReferenceMath.view("down", down, true), gamma, options.withThreads(3).withSeed(12345));
        assertEquals(a, b);
        assertNotEquals(a.scale(), c.scale());
    }
}
