/**
 * Rewrite: applies the scales to the model ({@link io.onnxslanc.rewrite.SlancRewrite}), leaving each norm's output
 * unchanged in exact arithmetic.
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.rewrite;
