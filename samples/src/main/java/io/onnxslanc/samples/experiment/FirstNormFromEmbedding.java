package io.onnxslanc.samples.experiment;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.ir.Model;

/**
 * A diagnostic, not the paper's rule: SLaNC with the first norm's scale taken from the static embedding tables
 * instead of s = 1. The first norm's input is built from Gathers of constant tables (and, in the amplified models,
 * a Mul by c), so the largest row norm of what can reach it is known offline: sum over the Gathered tables of their
 * largest row norm, times the constant factors on the way. Rounded to a power of two like every SLaNC scale.
 */
final class FirstNormFromEmbedding {
    private FirstNormFromEmbedding() {
    }

    /** Calibrates {@code model} in place with the first norm's scale from the embedding; returns that scale. */
    static double calibrate(Model model) {
        CalibrationReport r = Slanc.calibrate(model, SlancOptions.defaults().withFirstNormFromEmbedding(true));
        return r.norms().stream().filter(n -> n.block().equals("first")).findFirst().map(CalibrationReport.Norm::scale)
                .orElse(Double.NaN);
    }
}
