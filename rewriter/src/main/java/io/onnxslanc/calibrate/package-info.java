/**
 * Calibrate, scale: the SLaNC scale of each norm ({@link io.onnxslanc.calibrate.SlancCalibrator}) from the block in
 * front of it, which {@link io.onnxslanc.calibrate.blocks.BlockFinder} finds; the formulas are derived in
 * docs/method.md and computed in {@code calibrate.math}.
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.calibrate;
