package io.onnxslanc.check.fallback;

import io.onnxslanc.ir.Model;

/**
 * An exact rewrite that multiplies a model's residual stream by {@code factor} (a power of two) and keeps its
 * function: every norm is scale-invariant once its epsilon is rescaled by factor^2, so the stream can be made
 * smaller without changing an output. The samples module's ResidualAmplifier is one (amplify with a factor below 1
 * undoes an amplification); {@link Fp32Fallback} uses it to bring a stream that overflows FP16 back into range
 * before it falls back to FP32 islands.
 */
@FunctionalInterface
public interface StaticRescale {
    /**
     * Rewrites {@code model} in place and says what it did.
     *
     * @throws IllegalArgumentException when the model's stream is not one it can rescale (the model may then be
     *                                  partly rewritten: callers pass a copy)
     */
    String apply(Model model, double factor);
}
