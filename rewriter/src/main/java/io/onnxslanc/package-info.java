/**
 * The stages in a line: {@link io.onnxslanc.Slanc} (match, calibrate, rewrite) and {@link io.onnxslanc.SlancPipeline}
 * (read, calibrate, convert, write); {@link io.onnxslanc.ReportJson} writes the reports as JSON with the header of
 * {@link io.onnxslanc.ToolInfo}.
 *
 * <p>The picture of the stages and the IR, and how to add a norm form, a block form or a conversion rule:
 * docs/architecture.md in the repository.
 */
package io.onnxslanc;
