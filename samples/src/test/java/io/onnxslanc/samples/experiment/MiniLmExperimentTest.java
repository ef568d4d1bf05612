package io.onnxslanc.samples.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The MiniLM half of the experiment, reduced to c = 1 and c = 16 (MiniLM alone, as the demo runs it without the
 * stories260K data): at c = 1 nothing overflows and every FP16 variant keeps the embeddings; at
 * c = 16 the probe reports overflowing norms and the naive-norm emulation collapses the embeddings, while SLaNC
 * keeps every norm in range and the embeddings at the FP32 model's. Bounds: <= 10x the measured 1 - cosine.
 */
class MiniLmExperimentTest {

    @Test
    void reducedMiniLmExperiment() {
        // MiniLM only (needs just the Maven jar, not the stories260K data)
        ExperimentResult r = SlancExperiment.runMiniLm(List.of(1.0, 16.0), line -> { });
        System.out.print(r.toText());
        assertEquals(2 * Variant.PAPER.size(), r.miniLm().size()); // (f) is run only where SLaNC alone falls short
        for (double c : new double[] {1, 16}) {
            ExperimentResult.EncoderRow fp32 = r.encoder(c, Variant.FP32);
            assertEquals(1.0, fp32.minCosine(), 1e-6, "amplification changed the FP32 function at c = " + c);
            assertEquals(13, fp32.norms());
            assertCloseToFp32(r.encoder(c, Variant.SLANC), SLANC_ONE_MINUS_COS);
            assertEquals(0, r.encoder(c, Variant.SLANC).overflowingNorms(), "SLaNC at c = " + c);
            assertCloseToFp32(r.encoder(c, Variant.FP32_NORMS), FP32_NORMS_ONE_MINUS_COS);
        }
        for (Variant v : Variant.PAPER) {
            assertEquals(0, r.encoder(1, v).overflowingNorms(), v.label());
        }
        assertCloseToFp32(r.encoder(1, Variant.FP16_STORAGE), STORAGE_ONE_MINUS_COS);
        assertCloseToFp32(r.encoder(1, Variant.NAIVE_NORMS), STORAGE_ONE_MINUS_COS);
        // c = 16: the probe predicts overflow, and the naive norms do collapse the embeddings
        ExperimentResult.EncoderRow naive16 = r.encoder(16, Variant.NAIVE_NORMS);
        assertTrue(naive16.overflowingNorms() > 0, "probe: no overflowing norm at c = 16");
        assertTrue(naive16.minCosine() < 0.5 || Double.isNaN(naive16.minCosine()), "naive norms at c = 16: min cosine " + naive16.minCosine());
        assertEquals(0, r.encoder(16, Variant.SLANC).casts() - r.encoder(16, Variant.FP32).casts(), "SLaNC adds no Casts");
    }

    private static void assertCloseToFp32(ExperimentResult.EncoderRow row, double oneMinusCos) {
        assertTrue(1 - row.minCosine() <= oneMinusCos, row.variant().label() + " at c = " + row.factor()
                + ": min cosine " + row.minCosine() + ", allowed 1 - cos <= " + oneMinusCos);
    }

    // measured: 1 - min cos = 2e-6 for SLaNC, storage and naive norms at c = 1 (README table); 1e-6 for FP32 norms
    private static final double SLANC_ONE_MINUS_COS = 2e-5, STORAGE_ONE_MINUS_COS = 2e-5, FP32_NORMS_ONE_MINUS_COS = 1e-5;
}
