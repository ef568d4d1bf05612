package io.onnxslanc.check.inputs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shapes from --input-shape / --dim / defaults, and consistent KV-cache decoder inputs (no ONNX Runtime needed). */
class InputSpecTest {

    /** A value_info whose dims are numbers or symbol names. */
    static ValueInfoProto input(String name, int type, Object... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            s.addDim(d instanceof String sym ? TensorShapeProto.Dimension.newBuilder().setDimParam(sym)
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
    }

    static ModelProto model(ValueInfoProto... inputs) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("g");
        for (ValueInfoProto in : inputs) {
            g.addInput(in);
        }
        // a logits output gives the id range of input_ids
        g.addOutput(input("logits", DataType.FLOAT_VALUE, "batch", "seq", 50));
        return ModelProto.newBuilder().setIrVersion(8).setGraph(g).build();
    }

    @Test
    void symbolicDimsDefaultToBatchOneAndSequenceLengthAndFollowDimAndInputShape() throws Exception {
        ModelProto m = model(input("x", DataType.FLOAT_VALUE, "N", 200, 320), input("y", DataType.FLOAT_VALUE, "batch_size", "T", 8));
        ModelInputs d = InputSpec.defaults().withSamples(1).withSequenceLength(5).build(m);
        assertArrayEquals(new long[] {1, 200, 320}, d.feeds().get(0).get("x").shape());
        assertArrayEquals(new long[] {1, 5, 8}, d.feeds().get(0).get("y").shape());
        assertEquals(Map.of("N", 1L, "batch_size", 1L, "T", 5L), d.symbols());

        ModelInputs withDim = InputSpec.defaults().withSamples(1).withDims(Map.of("N", 3L, "T", 7L)).build(m);
        assertArrayEquals(new long[] {3, 200, 320}, withDim.feeds().get(0).get("x").shape());
        assertArrayEquals(new long[] {1, 7, 8}, withDim.feeds().get(0).get("y").shape());
        assertTrue(withDim.shapes().contains("x [3,200,320] float"), withDim.shapes());

        ModelInputs shaped = InputSpec.defaults().withSamples(1).withShapes(Map.of("y", new long[] {2, 9, 8})).build(m);
        assertArrayEquals(new long[] {2, 9, 8}, shaped.feeds().get(0).get("y").shape());
    }

    @Test
    void overridesTheModelDoesNotHaveAreRefusedWithTheNamesItHas() {
        ModelProto m = model(input("x", DataType.FLOAT_VALUE, "N", 200, 320));
        String unknownDim = assertThrows(IllegalArgumentException.class,
                () -> InputSpec.defaults().withDims(Map.of("M", 2L)).build(m)).getMessage();
        assertEquals("--dim M: the model has no symbolic dimension 'M' (symbols: N)", unknownDim);
        String unknownInput = assertThrows(IllegalArgumentException.class,
                () -> InputSpec.defaults().withShapes(Map.of("z", new long[] {1})).build(m)).getMessage();
        assertEquals("--input-shape z: the model has no input 'z' (inputs: x)", unknownInput);
        String rank = assertThrows(IllegalArgumentException.class,
                () -> InputSpec.defaults().withShapes(Map.of("x", new long[] {1, 200})).build(m)).getMessage();
        assertEquals("--input-shape x=1,200: input 'x' has rank 3 ([N,200,320])", rank);
        String fixed = assertThrows(IllegalArgumentException.class,
                () -> InputSpec.defaults().withShapes(Map.of("x", new long[] {1, 100, 320})).build(m)).getMessage();
        assertEquals("--input-shape x=1,100,320: dimension 1 of input 'x' is fixed at 200 ([N,200,320])", fixed);
        assertEquals("x", InputSpec.parseShape("x=1,2,3").getKey());
        assertArrayEquals(new long[] {1, 2, 3}, InputSpec.parseShape("x=1,2,3").getValue());
        assertThrows(IllegalArgumentException.class, () -> InputSpec.parseShape("x:1,2"));
    }

    /** Optimum's merged-decoder inputs: two feeds per sample, the mask covering past + new, positions after the past. */
    @Test
    void mergedDecoderGetsBothBranchesWithConsistentMaskPositionsAndPast() throws Exception {
        ModelProto m = model(input("input_ids", DataType.INT64_VALUE, "batch_size", "sequence_length"),
                input("attention_mask", DataType.INT64_VALUE, "batch_size", "past_sequence_length + 1"),
                input("position_ids", DataType.INT64_VALUE, "batch_size", "sequence_length"),
                input("past_key_values.0.key", DataType.FLOAT_VALUE, "batch_size", 2, "past_sequence_length", 4),
                input("past_key_values.0.value", DataType.FLOAT_VALUE, "batch_size", 2, "past_sequence_length", 4),
                input("use_cache_branch", DataType.BOOL_VALUE, 1));
        ModelInputs in = InputSpec.defaults().withSamples(2).withSequenceLength(6).withPastLength(3).build(m);
        assertEquals(4, in.feeds().size(), "2 samples x 2 branches");
        Map<String, TensorData> noCache = in.feeds().get(0), cache = in.feeds().get(1);
        assertArrayEquals(new long[] {0}, noCache.get("use_cache_branch").longs());
        assertArrayEquals(new long[] {1}, cache.get("use_cache_branch").longs());
        assertArrayEquals(new long[] {1, 2, 0, 4}, noCache.get("past_key_values.0.key").shape());
        assertArrayEquals(new long[] {1, 2, 3, 4}, cache.get("past_key_values.0.value").shape());
        assertArrayEquals(new long[] {1, 6}, noCache.get("attention_mask").shape());
        assertArrayEquals(new long[] {1, 9}, cache.get("attention_mask").shape());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, noCache.get("position_ids").longs());
        assertArrayEquals(new long[] {3, 4, 5, 6, 7, 8}, cache.get("position_ids").longs());
        assertArrayEquals(noCache.get("input_ids").longs(), cache.get("input_ids").longs(), "same tokens on both branches");
        for (long id : noCache.get("input_ids").longs()) {
            assertTrue(id >= 0 && id < 50, "id within the logits' vocabulary: " + id);
        }
        assertTrue(in.origin().contains("both branches"), in.origin());
    }

    @Test
    void withPastDecoderGetsAnEmptyPastByDefaultAndCachePositionsAfterAGivenPast() throws Exception {
        ModelProto m = model(input("input_ids", DataType.INT64_VALUE, "batch", "seq"),
                input("past_key.0", DataType.FLOAT16_VALUE, "batch", 4, "past_seq", 8),
                input("past_value.0", DataType.FLOAT16_VALUE, "batch", 4, "past_seq", 8),
                input("cache_position", DataType.INT64_VALUE, "seq"));
        Map<String, TensorData> empty = InputSpec.defaults().withSamples(1).withSequenceLength(5).build(m).feeds().get(0);
        assertArrayEquals(new long[] {1, 4, 0, 8}, empty.get("past_key.0").shape());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4}, empty.get("cache_position").longs());
        Map<String, TensorData> past = InputSpec.defaults().withSamples(1).withSequenceLength(2).withPastLength(7).build(m).feeds().get(0);
        assertArrayEquals(new long[] {1, 4, 7, 8}, past.get("past_value.0").shape());
        assertArrayEquals(new long[] {7, 8}, past.get("cache_position").longs());
        DecoderLayout layout = DecoderLayout.of(InputSpec.realInputs(m.getGraph())).orElseThrow();
        assertEquals("past_key.0", layout.pastFor("present_key.0").orElseThrow());
        assertEquals(List.of("past_key.0", "past_value.0"), layout.pastInputs());
    }

    @Test
    void filesMatchInputsByNameThenByOrder(@TempDir Path dir) throws Exception {
        ModelProto m = model(input("a", DataType.FLOAT_VALUE, 2), input("b", DataType.INT64_VALUE, 1, 3));
        // b.npy is matched by name; the unnamed input_0.pb takes the remaining input a
        Files.write(dir.resolve("b.npy"), NpyTest.npy("<i8", false, "(1, 3)", NpyTest.le(8, 4, 5, 6)));
        Files.write(dir.resolve("input_0.pb"), io.onnxslanc.check.ProtoBuilders.floatTensor("", new long[] {2}, new float[] {0.5f, -1f}).toByteArray());
        Files.write(dir.resolve("output_0.pb"), new byte[] {1, 2, 3}); // expected outputs are skipped
        ModelInputs in = InputSpec.defaults().withInputsDir(dir).build(m);
        assertArrayEquals(new float[] {0.5f, -1f}, in.feeds().get(0).get("a").floats());
        assertArrayEquals(new long[] {4, 5, 6}, in.feeds().get(0).get("b").longs());
        Files.delete(dir.resolve("b.npy"));
        String missing = assertThrows(IllegalArgumentException.class, () -> InputSpec.defaults().withInputsDir(dir).build(m)).getMessage();
        assertTrue(missing.startsWith(dir + ": no tensor for model input 'b'"), missing);
    }
}
