/**
 * Convert: float32 to FP16 / BF16 ({@link io.onnxslanc.convert.Fp16Converter}), with the nodes that must stay float32
 * kept there behind Casts; the result is described by {@link io.onnxslanc.convert.ConversionReport}.
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.convert;
