/**
 * Read and write: ONNX protobuf to the IR ({@link io.onnxslanc.io.ModelReader}, weights memory-mapped on demand) and
 * back ({@link io.onnxslanc.io.ModelWriter}: {@code ProtoEncoder} for the model, {@code DataFileWriter} for the
 * external data file, written atomically).
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.io;
