/**
 * Calibrate, structure: which block stands in front of each norm and which weights its SLaNC formula reads
 * ({@link io.onnxslanc.calibrate.blocks.BlockFinder}, answering with one
 * {@link io.onnxslanc.calibrate.blocks.NormBlock} record per norm). Attention, MLP and linear-layer walks
 * (float and quantized weights) live here; the scales computed from the blocks are in {@code io.onnxslanc.calibrate}.
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.calibrate.blocks;
