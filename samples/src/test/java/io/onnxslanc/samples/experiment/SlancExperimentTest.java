package io.onnxslanc.samples.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A reduced run of the experiment (stories260K at c = 1, 64, 1024; the first 128 positions): the paper's claims where
 * they hold, and the measured limit where they do not (the first norm, which SLaNC leaves at s = 1).
 */
class SlancExperimentTest {

    @Test
    void reducedExperiment() {
        ExperimentOptions o = ExperimentOptions.defaults().withFactors(List.of(1.0, 64.0, 1024.0)).withMaxPositions(128)
                .withMiniLmFactors(List.of()).withWorkDir(Path.of("target", "experiment-test"));
        ExperimentResult r = SlancExperiment.run(o, line -> { });
        System.out.print(r.toText());
        assertEquals(15, r.stories().size());
        double fp32 = r.story(1, Variant.FP32).perplexity(); // ONNX Runtime on the model as imported
        // the known value (ORT 1.28.0 CPU, 127 tokens): 3.9266; 2e-5 relative covers its last printed digit
        assertEquals(3.9266, fp32, 2e-5 * 3.9266, "FP32 perplexity");
        for (double c : new double[] {1, 64, 1024}) {
            ExperimentResult.LmRow a = r.story(c, Variant.FP32);
            assertEquals(fp32, a.perplexity(), 1e-9 * fp32, "amplification changed the FP32 function at c = " + c);
            assertEquals(127, a.tokensScored());
            assertWithin(r.story(c, Variant.FP32_NORMS), 5e-4, "norms in FP32"); // measured |change| < 5e-5
        }
        // nothing overflows unamplified: every FP16 variant within 0.2% (10x the measured 0.02%)
        for (Variant v : Variant.values()) {
            assertEquals(0, r.story(1, v).overflowingNorms(), v.label());
            if (v != Variant.FP32) {
                assertWithin(r.story(1, v), TEN_TIMES_MEASURED, v.label());
            }
        }
        // c = 64: the naive norms overflow and the perplexity explodes; SLaNC keeps every norm in range
        ExperimentResult.LmRow naive64 = r.story(64, Variant.NAIVE_NORMS);
        assertTrue(naive64.overflowingNorms() > 0);
        assertTrue(naive64.perplexity() > 2 * fp32, "naive norms at c = 64: " + naive64.perplexity());
        assertEquals(0, r.story(64, Variant.SLANC).overflowingNorms());
        assertWithin(r.story(64, Variant.SLANC), TEN_TIMES_MEASURED, "SLaNC at c = 64");
        // c = 1024: every norm overflows naively
        ExperimentResult.LmRow naive1024 = r.story(1024, Variant.NAIVE_NORMS);
        assertEquals(11, naive1024.overflowingNorms());
        assertTrue(naive1024.perplexity() > 2 * fp32, "naive norms at c = 1024: " + naive1024.perplexity());
        // ... and SLaNC leaves exactly the first norm (the paper's s = 1) overflowing
        ExperimentResult.LmRow slanc1024 = r.story(1024, Variant.SLANC);
        assertEquals(List.of("/layers.0/attention_norm/Pow"), slanc1024.overflowing());
        // which is the whole cause: with that norm scaled from the embedding table, SLaNC is within 0.5% again
        assertEquals(1, r.diagnostics().size());
        ExperimentResult.Diagnostic d = r.diagnostics().get(0);
        assertEquals(1024, d.factor());
        assertEquals(0, d.overflowingNorms());
        assertTrue(Math.abs(d.relativeChange()) <= TEN_TIMES_MEASURED, "diagnostic: " + d);
        // deployable models: the peers' FP32 norms cost Casts, SLaNC none
        assertEquals(0, r.story(1024, Variant.SLANC).casts());
        assertTrue(r.story(1024, Variant.FP32_NORMS).casts() > 0);
        assertTrue(r.toMarkdown().contains("| 1024 | (d) FP16 + SLaNC |"), r.toMarkdown());
        assertTrue(r.toJson().contains("\"diagnostics\""));
    }

    /** FP16 variants that do not overflow: measured |ppl / FP32 - 1| = 2e-4 (-0.02%); bound 10x that. */
    private static final double TEN_TIMES_MEASURED = 2e-3;

    private static void assertWithin(ExperimentResult.LmRow row, double tolerance, String what) {
        assertTrue(Math.abs(row.relativeChange()) <= tolerance, what + " at c = " + row.factor() + ": "
                + row.perplexity() + " (" + 100 * row.relativeChange() + "% vs FP32)");
    }
}
