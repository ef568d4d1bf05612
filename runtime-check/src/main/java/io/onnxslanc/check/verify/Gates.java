package io.onnxslanc.check.verify;

/**
 * Thresholds a candidate must meet against its reference. A threshold set to NaN is off. Whatever the thresholds,
 * a candidate output that is NaN or infinite where the reference is finite fails.
 *
 * <p>Defaults, for an FP16 candidate of an FP32 model (measured with this tool, CPU provider, ONNX Runtime 1.28.0):
 * SLaNC + FP16 gives cosine 0.999999 on MiniLM embeddings and 1.000000 on stories260K logits, top-1 agreement 100%
 * and mean KL 4.6e-6 on stories260K, perplexity -0.001% (the demo, 2026-12-05); a broken FP16 model (naive FP16 norms on the amplified
 * stories260K) gives cosine 0.5 or less, perplexity +43% and more. The defaults sit one to three orders of magnitude
 * from the good figures and far from the broken ones: cosine >= 0.999, top-1 >= 98% (FP16 flips near-ties of large
 * models' logits), mean KL <= 0.01, perplexity increase <= 1%. Max abs and max rel errors depend on the output's
 * scale (logits in the tens, embeddings below one), so they are off unless given.
 *
 * @param minCosine          smallest cosine of every output to the reference's
 * @param maxAbs             largest absolute error of any element
 * @param maxRel             largest relative error of any element (|c - r| / max(|r|, the parity's floor))
 * @param minTop1            language models: smallest share of positions whose arg-max token agrees (0..1)
 * @param maxKl              language models: largest mean KL(reference || candidate) of the next-token distributions
 * @param maxPplIncreasePct  language models: largest perplexity increase over the reference, in percent
 */
public record Gates(double minCosine, double maxAbs, double maxRel, double minTop1, double maxKl, double maxPplIncreasePct) {

    public static final double MIN_COSINE = 0.999;
    public static final double MIN_TOP1 = 0.98;
    public static final double MAX_KL = 0.01;
    public static final double MAX_PPL_INCREASE_PCT = 1.0;

    public static Gates defaults() {
        return new Gates(MIN_COSINE, Double.NaN, Double.NaN, MIN_TOP1, MAX_KL, MAX_PPL_INCREASE_PCT);
    }

    public Gates withMinCosine(double v) {
        return new Gates(v, maxAbs, maxRel, minTop1, maxKl, maxPplIncreasePct);
    }

    public Gates withMaxAbs(double v) {
        return new Gates(minCosine, v, maxRel, minTop1, maxKl, maxPplIncreasePct);
    }

    public Gates withMaxRel(double v) {
        return new Gates(minCosine, maxAbs, v, minTop1, maxKl, maxPplIncreasePct);
    }

    public Gates withMinTop1(double v) {
        return new Gates(minCosine, maxAbs, maxRel, v, maxKl, maxPplIncreasePct);
    }

    public Gates withMaxKl(double v) {
        return new Gates(minCosine, maxAbs, maxRel, minTop1, v, maxPplIncreasePct);
    }

    public Gates withMaxPplIncreasePct(double v) {
        return new Gates(minCosine, maxAbs, maxRel, minTop1, maxKl, v);
    }

    static boolean on(double threshold) {
        return !Double.isNaN(threshold);
    }
}
