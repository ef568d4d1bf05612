package io.onnxslanc.check.fallback;

/**
 * A node the FP32 fallback keeps in FP32, and why.
 *
 * @param maxAbs the largest |x| measured on the tensor that forced it (its output, or the input it reads)
 * @param reason e.g. "output 'x' max |x| 2.3e5", "reads 'x' (max |x| 2.3e5)", "norm sum of squares overflows"
 */
public record Fp32Node(String name, String opType, double maxAbs, String reason) {
}
