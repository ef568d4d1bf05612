/**
 * Dequantization of quantized weights for the SLaNC arithmetic: decoders that present a packed integer weight and
 * its scales (and zero points) as float32 lines, computing (q - zero point) * scale in float32 exactly as ONNX
 * Runtime's kernels do, run by run, without ever materialising the dequantized matrix.
 * <ul>
 *   <li>{@link io.onnxslanc.calibrate.quant.NBitsLines}: com.microsoft MatMulNBits (4 and 8 bits, block-wise).</li>
 *   <li>{@link io.onnxslanc.calibrate.quant.AffineLines}: ONNX DequantizeLinear (int8/uint8/int4/uint4,
 *       per-tensor, per-axis, blocked), also used for MatMulInteger's constant weight.</li>
 * </ul>
 */
package io.onnxslanc.calibrate.quant;
