package io.onnxslanc.check.model;

import io.onnxslanc.check.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class OrtTypeInferenceTest {
    @Test
    void infersIntermediateTypesAndShapes() {
        Map<String, OrtTensorType> t = OrtTypeInference.infer(TestModels.decomposedRmsNorm(3, 8, 1e-5f, TestModels.filled(8, 1f), TestModels.F));
        assertTrue(t.get("sq").isFloat());
        assertArrayEquals(new long[]{3, 1}, t.get("ms").shape());
        assertArrayEquals(new long[]{3, 8}, t.get("y").shape());
        Map<String, OrtTensorType> h = OrtTypeInference.infer(TestModels.castPair(5));
        assertEquals(io.onnxslanc.proto.Onnx.TensorProto.DataType.FLOAT16_VALUE, h.get("h").elemType());
    }
}
