package io.onnxslanc.calibrate;

import io.onnxslanc.calibrate.math.SlancScales;
import io.onnxslanc.Progress;
import java.util.Objects;

/**
 * How SLaNC calibrates a model.
 *
 * @param powerOfTwo rounds every scale to a power of two (default), which makes the inserted multiply and the
 *                   epsilon rescaling exact in every float format; Skip*LayerNormalization sites are always rounded,
 *                   since their residual-sum output is restored by multiplying back
 * @param math       the numerics of the scale computation: exact below a size threshold, estimated above
 * @param dryRun     computes and reports the scales without changing the model
 * @param progress   receives one step per norm
 * @param firstNormFromEmbedding the first norm's scale is the largest row norm that the embedding tables (and
 *                   constant factors) in front of it can produce, static and data-free (default); false gives it the
 *                   paper's s = 1 (the embedding does not enter). It matters when the embedding itself is large, as
 *                   in the residual-amplification stress test. A first norm whose input is not built from constant
 *                   tables (a graph input of features) keeps s = 1 either way.
 * @param strict     refuse the result (io.onnxslanc.StrictCheckException) when a norm other than a first norm stays
 *                   unscaled, or when norm-like candidates exist but no norm was matched
 */
public record SlancOptions(boolean powerOfTwo, SlancScales.Options math, boolean dryRun, Progress progress,
                           boolean firstNormFromEmbedding, boolean strict) {

    public SlancOptions(boolean powerOfTwo, SlancScales.Options math, boolean dryRun, Progress progress,
                        boolean firstNormFromEmbedding) {
        this(powerOfTwo, math, dryRun, progress, firstNormFromEmbedding, false);
    }

    public SlancOptions {
        Objects.requireNonNull(math, "math");
        Objects.requireNonNull(progress, "progress");
    }

    public static SlancOptions defaults() {
        return new SlancOptions(true, SlancScales.Options.defaults(), false, Progress.NONE, true);
    }

    public SlancOptions withPowerOfTwo(boolean v) {
        return new SlancOptions(v, math, dryRun, progress, firstNormFromEmbedding, strict);
    }

    public SlancOptions withMath(SlancScales.Options v) {
        return new SlancOptions(powerOfTwo, v, dryRun, progress, firstNormFromEmbedding, strict);
    }

    /** Products costing more multiply-adds than this are estimated by random probing. */
    public SlancOptions withExactThreshold(double multiplyAdds) {
        return withMath(math.withExactThreshold(multiplyAdds));
    }

    public SlancOptions withDryRun(boolean v) {
        return new SlancOptions(powerOfTwo, math, v, progress, firstNormFromEmbedding, strict);
    }

    public SlancOptions withProgress(Progress p) {
        return new SlancOptions(powerOfTwo, math, dryRun, p, firstNormFromEmbedding, strict);
    }

    public SlancOptions withStrict(boolean v) {
        return new SlancOptions(powerOfTwo, math, dryRun, progress, firstNormFromEmbedding, v);
    }

    public SlancOptions withFirstNormFromEmbedding(boolean v) {
        return new SlancOptions(powerOfTwo, math, dryRun, progress, v, strict);
    }

    /** The paper's rule for the first norm, s = 1 (true), instead of the default scale from the embedding tables. */
    public SlancOptions withFirstNormUnit(boolean v) {
        return withFirstNormFromEmbedding(!v);
    }
}
