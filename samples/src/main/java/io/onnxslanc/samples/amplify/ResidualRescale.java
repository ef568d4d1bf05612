package io.onnxslanc.samples.amplify;

import io.onnxslanc.check.fallback.StaticRescale;
import io.onnxslanc.ir.Model;

/**
 * The FP32 fallback's static rescale, done by {@link ResidualAmplifier} with a factor below one: the inverse of
 * amplify. Every norm is scale-invariant once its epsilon is rescaled, so dividing the residual stream by 2^k (the
 * stream's start, its writers W_o / W_down / W_2 and their biases, post-norm gains, readers compensated, epsilons
 * / 4^k) changes no output and is exact for powers of two; it undoes an amplification by 2^k exactly.
 */
public final class ResidualRescale implements StaticRescale {
    public static final ResidualRescale INSTANCE = new ResidualRescale();

    private ResidualRescale() {
    }

    @Override
    public String apply(Model model, double factor) {
        AmplifyReport r = ResidualAmplifier.amplify(model, AmplifyOptions.of(factor));
        String f = factor == Math.scalb(1.0, Math.getExponent(factor)) ? "2^" + Math.getExponent(factor) : AmplifyReport.format(factor);
        return "residual stream x " + f + " (" + r.layout().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                + ", " + r.norms() + " norms, " + r.epsilons() + " epsilons rescaled)";
    }
}
