/**
 * The numerical core of SLaNC (docs/method.md), independent of the ONNX graph IR.
 *
 * <ul>
 *   <li>{@link io.onnxslanc.calibrate.math.MatrixView}: zero-copy view of a float32 / float16 / bfloat16 weight in
 *       a (mapped) ByteBuffer, with a transposed view for ONNX MatMul initializers (B = W^T).</li>
 *   <li>{@link io.onnxslanc.calibrate.math.SlancScales}: the scale s for a norm after an attention block, a gated
 *       MLP or a plain MLP, in double, exact or by seeded Rademacher probing, plus power-of-two rounding.</li>
 * </ul>
 *
 * <p>Everything is deterministic: equal inputs and options give bit-identical results for any thread count
 * (work is split into fixed blocks whose results are combined in a fixed order).
 */
package io.onnxslanc.calibrate.math;
