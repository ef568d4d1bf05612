package io.onnxslanc.calibrate;

import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.calibrate.math.ScaleResult;

/**
 * The scale chosen for one norm.
 *
 * @param block  the norm and the block in front of it
 * @param result the computation (null for FIRST and UNKNOWN blocks)
 * @param scale  s, the divisor applied to the norm's input (rounded to a power of two unless switched off); 1 for the
 *               first norm; null when the norm stays unscaled
 * @param reason why the norm stays unscaled, else null
 */
public record NormCalibration(NormBlock block, ScaleResult result, Double scale, String reason) {

    /** True when the rewrite has something to do: a scale other than 1. */
    public boolean changesModel() {
        return scale != null && scale != 1.0;
    }
}
