package io.onnxslanc.samples.quantize;

/**
 * Round-to-nearest quantization of one group of weights to integers in [lo, hi]: q = clamp(round(w / scale) + zp),
 * dequantized as (q - zp) * scale in float32 (the ONNX / ONNX Runtime formula).
 */
record BlockQuant(float scale, int zeroPoint, int[] q) {

    /** Symmetric: zero point {@code zp} fixed, scale from the largest magnitude. */
    static BlockQuant symmetric(float[] w, int lo, int hi, int zp) {
        float maxAbs = 0;
        for (float v : w) {
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        int half = Math.min(hi - zp, zp - lo);
        float scale = maxAbs == 0 ? 1f : maxAbs / half;
        return quantize(w, scale, zp, lo, hi);
    }

    /** Asymmetric: the range [min(w, 0), max(w, 0)] mapped onto [lo, hi]. */
    static BlockQuant asymmetric(float[] w, int lo, int hi) {
        float min = 0;
        float max = 0;
        for (float v : w) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        float scale = max == min ? 1f : (max - min) / (hi - lo);
        int zp = Math.max(lo, Math.min(hi, Math.round(lo - min / scale)));
        return quantize(w, scale, zp, lo, hi);
    }

    private static BlockQuant quantize(float[] w, float scale, int zp, int lo, int hi) {
        int[] q = new int[w.length];
        for (int i = 0; i < w.length; i++) {
            q[i] = Math.max(lo, Math.min(hi, Math.round(w[i] / scale) + zp));
        }
        return new BlockQuant(scale, zp, q);
    }

    float dequantized(int i) {
        return (q[i] - zeroPoint) * scale;
    }
}
