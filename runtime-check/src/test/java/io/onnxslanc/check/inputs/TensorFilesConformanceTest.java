package io.onnxslanc.check.inputs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --inputs} on ONNX's own node tests: the tensors read from test_data_set_0/input_N.pb, fed to ONNX Runtime,
 * give the outputs ONNX's reference implementation stored in output_N.pb. A misread input (type, shape, order,
 * typed field vs raw data) shows as a wrong output.
 */
class TensorFilesConformanceTest {

    @ParameterizedTest
    @ValueSource(strings = {"test_layer_normalization_4d_axis_negative_1", "test_layer_normalization_3d_axis1_epsilon",
            "test_gemm_all_attributes", "test_concat_3d_axis_negative_2", "test_matmul_3d", "test_where_example",
            "test_gather_0", "test_cast_FLOAT16_to_FLOAT", "test_softmax_axis_1", "test_equal_bcast"})
    void inputsFromTestDataSetGiveTheStoredOutputs(String test) throws Exception {
        Path dir = OnnxTestData.nodeTest(test);
        ModelProto model = ModelSource.parse(dir.resolve("model.onnx"));
        // the folder holding test_data_set_0/ (one sample per sub-folder) and the sample folder itself
        for (Path inputs : List.of(dir, dir.resolve("test_data_set_0"))) {
            ModelInputs fed = InputSpec.defaults().withInputsDir(inputs).build(model);
            assertFalse(fed.generated());
            assertEquals(1, fed.feeds().size(), "one sample");
            Map<String, TensorData> out;
            try (OpenedSession s = SessionFactory.cpu().open(ModelSource.file(dir.resolve("model.onnx")))) {
                out = Runs.run(s.session(), test, fed.feeds().get(0));
            }
            List<ValueInfoProto> outputs = model.getGraph().getOutputList();
            for (int i = 0; i < outputs.size(); i++) {
                TensorProto expectedProto = TensorProto.parseFrom(Files.readAllBytes(dir.resolve("test_data_set_0/output_" + i + ".pb")));
                TensorData expected = TensorProtoValues.of(expectedProto, "output_" + i);
                TensorData actual = out.get(outputs.get(i).getName());
                assertArrayEquals(expected.shape(), actual.shape(), test + " output " + i);
                if (expected.isFloat()) {
                    for (int j = 0; j < expected.floats().length; j++) {
                        float e = expected.floats()[j], a = actual.floats()[j];
                        assertTrue(Math.abs(e - a) <= 1e-4 + 1e-4 * Math.abs(e), test + " output " + i + "[" + j + "]: " + a + " vs " + e);
                    }
                } else {
                    assertArrayEquals(expected.longs(), actual.longs(), test + " output " + i);
                }
            }
        }
    }
}
