package io.onnxslanc.calibrate.math;

/**
 * The SLaNC scale s of one norm (the norm input is divided by s) and how it was obtained.
 *
 * @param scale            s, in double; 0 when the block in front of the norm has all-zero weights
 * @param estimated        true when a Frobenius norm of a product was estimated by random probing
 * @param relativeStdError estimated relative standard error of s due to probing (0 when exact); for the gated
 *                         MLP it covers the Frobenius factor only
 * @param probes           probe vectors used (0 when exact)
 * @param powerIterations  Lanczos steps for the spectral factor, one pass over W_gate each (0 when the formula
 *                         has none)
 * @param powerResidual    relative residual ||G y - theta y|| / theta of the top Ritz pair (theta = sigma^2, G the
 *                         Gram matrix M^T M or M M^T of M = W_gate Gamma) at the end of the Lanczos iteration (0 when
 *                         the formula has none); some eigenvalue of G lies within this relative distance of sigma^2,
 *                         and sigma never exceeds the true spectral norm
 */
public record ScaleResult(double scale, boolean estimated, double relativeStdError, int probes,
                          int powerIterations, double powerResidual) {

    /** s rounded to a power of two ({@link SlancScales#roundToPowerOfTwo}), or 1 when s is 0 (nothing to scale). */
    public double powerOfTwoScale() {
        return scale == 0 ? 1.0 : SlancScales.roundToPowerOfTwo(scale);
    }
}
