/**
 * Calibrate: which block stands in front of each norm ({@link io.onnxslanc.calibrate.BlockFinder}) and its SLaNC scale
 * ({@link io.onnxslanc.calibrate.SlancCalibrator}); the formulas are derived in docs/method.md.
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.calibrate;
