/**
 * The graph IR every stage works on: {@link io.onnxslanc.ir.Model}, {@link io.onnxslanc.ir.Graph}, {@link
 * io.onnxslanc.ir.Node}, {@link io.onnxslanc.ir.Value} (SSA edges with use lists), {@link io.onnxslanc.ir.Tensor};
 * plus the one owner of element types ({@link io.onnxslanc.ir.ElementTypes}) and of FP16 / BF16 bits ({@link
 * io.onnxslanc.ir.FloatBits}).
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.ir;
