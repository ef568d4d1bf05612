package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;

/** Turns tensor values into an initializer: inline raw_data, or a reference into an external data file. */
interface InitializerStore {
    TensorProto add(String name, TensorValues values) throws IOException;
}
