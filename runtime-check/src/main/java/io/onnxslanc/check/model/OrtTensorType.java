package io.onnxslanc.check.model;

/**
 * A tensor's element type and shape as ONNX Runtime's type and shape inference reports them (see
 * {@link OrtTypeInference}); not the rewriter's {@code io.onnxslanc.ir.TensorType}, which is what the model declares.
 * The element type is the TensorProto.DataType number, the shape has -1 for unknown dims (null shape: unknown rank).
 */
public record OrtTensorType(int elemType, long[] shape) {
    public boolean isFloat() {
        return elemType == io.onnxslanc.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
    }
}
