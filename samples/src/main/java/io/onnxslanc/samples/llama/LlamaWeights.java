package io.onnxslanc.samples.llama;

import java.io.IOException;

/** Where a Llama graph's weights come from (a llama2.c checkpoint, a seeded generator, ...). */
public interface LlamaWeights {

    LlamaConfig config();

    /**
     * The values of one weight in ONNX layout ({@link LlamaTensor#onnxDims}); layer is ignored for
     * tensors that are not per layer.
     */
    TensorValues values(LlamaTensor tensor, int layer) throws IOException;
}
