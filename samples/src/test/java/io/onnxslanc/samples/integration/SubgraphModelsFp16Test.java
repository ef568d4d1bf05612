package io.onnxslanc.samples.integration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxSequence;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.inputs.TensorProtoValues;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ONNX's own conformance models with If / Loop / Scan subgraphs (Debian package libonnx-testdata), converted to
 * FP16 (issue 4): each converted model loads and runs in ONNX Runtime and reproduces the expected outputs stored
 * beside it (output_*.pb, computed by ONNX's reference) within FP16 precision.
 */
class SubgraphModelsFp16Test {
    private static final Path NODE_TESTS = Path.of(System.getProperty("onnx.testdata", "/usr/share/libonnx-testdata/data/node"));
    private static final Path DIR = Path.of("target", "integration", "subgraphs");

    @ParameterizedTest
    @ValueSource(strings = {"test_if", "test_if_seq", "test_loop11", "test_range_float_type_positive_delta_expanded",
            "test_scan9_sum", "test_scan_sum"})
    void convertedModelRunsAndReproducesTheExpectedOutputs(String test) throws Exception {
        assumeTrue(Files.isDirectory(NODE_TESTS), NODE_TESTS + " not found: install the Debian package libonnx-testdata"
                + " (apt-get install -y libonnx-testdata; CI does) or set -Donnx.testdata=DIR to run the If / Loop / Scan"
                + " conversion tests");
        Path original = NODE_TESTS.resolve(test).resolve("model.onnx");
        Path data = NODE_TESTS.resolve(test).resolve("test_data_set_0");
        Model model = ModelReader.read(original);
        ConversionReport report = Fp16Converter.convert(model, Fp16Options.defaults());
        assertFalse(report.alreadyConverted());
        Files.createDirectories(DIR);
        Path converted = DIR.resolve(test + ".fp16.onnx");
        ModelWriter.write(model, converted);
        Model written = ModelReader.read(converted);
        System.out.printf("%s: %d declared FP16 values / constants inside subgraphs; %s%n", test,
                float16InSubgraphs(written), report.toText().strip().replace('\n', ' '));
        // float tensors enter and leave the main graph as FP16 (no keep-io-types), so If / Loop / Scan carry FP16
        for (Value v : concat(written.graph().inputs(), written.graph().outputs())) {
            assertTrue(v.hasNonTensorType() || v.elemType() != DataType.FLOAT, test + ": " + v.name() + " is still float32");
        }

        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.file(converted))) {
            Map<String, TensorData> feeds = new LinkedHashMap<>();
            List<String> names = new ArrayList<>(s.session().getInputNames());
            for (int i = 0; i < names.size(); i++) {
                feeds.put(names.get(i), tensor(TensorProto.parseFrom(Files.readAllBytes(data.resolve("input_" + i + ".pb")))));
            }
            List<List<TensorData>> got = run(s.session(), feeds);
            for (int i = 0; i < got.size(); i++) {
                List<TensorData> want = expected(data.resolve("output_" + i + ".pb"), got.get(i).size() > 1
                        || s.session().getOutputInfo().values().toArray(new NodeInfo[0])[i].getInfo() instanceof ai.onnxruntime.SequenceInfo);
                assertEquals(want.size(), got.get(i).size(), test + " output " + i + ": sequence length");
                for (int k = 0; k < want.size(); k++) {
                    assertClose(want.get(k), got.get(i).get(k), test + " output " + i + " element " + k);
                }
            }
        }
    }

    private static List<Value> concat(List<Value> a, List<Value> b) {
        List<Value> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** FP16 outputs of nodes inside subgraphs, plus FP16 Constant values and initializers there. */
    private static int float16InSubgraphs(Model m) {
        AtomicInteger n = new AtomicInteger();
        m.graph().forEachNodeRecursive(node -> {
            if (node.graph().parent() == null) {
                return;
            }
            for (Value v : node.outputs()) {
                if (v.elemType() == DataType.FLOAT16) {
                    n.incrementAndGet();
                }
            }
            node.attribute("value").filter(a -> a.tensorValue() != null && a.tensorValue().dataType() == DataType.FLOAT16)
                    .ifPresent(a -> n.incrementAndGet());
        });
        for (Value v : m.graph().initializersRecursive()) {
            if (v.graph().parent() != null && v.constant().dataType() == DataType.FLOAT16) {
                n.incrementAndGet();
            }
        }
        return n.get();
    }

    /** Each output as a list of tensors: one for a tensor output, the elements of a sequence output. */
    private static List<List<TensorData>> run(OrtSession session, Map<String, TensorData> inputs) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                feeds.put(e.getKey(), inputs.get(e.getKey()).toOnnx(env, e.getKey(), (TensorInfo) e.getValue().getInfo()));
            }
            List<List<TensorData>> out = new ArrayList<>();
            try (OrtSession.Result r = session.run(feeds)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    List<TensorData> items = new ArrayList<>();
                    if (e.getValue() instanceof OnnxSequence seq) {
                        for (OnnxValue v : seq.getValue()) {
                            items.add(TensorData.fromOnnx((OnnxTensor) v));
                        }
                    } else {
                        items.add(TensorData.fromOnnx((OnnxTensor) e.getValue()));
                    }
                    out.add(items);
                }
            }
            return out;
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** A stored expected output: a TensorProto, or a SequenceProto whose field 3 holds the element tensors. */
    private static List<TensorData> expected(Path file, boolean sequence) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (!sequence) {
            return List.of(tensor(TensorProto.parseFrom(bytes)));
        }
        List<TensorData> items = new ArrayList<>();
        for (ByteString element : UnknownFieldSet.parseFrom(bytes).getField(3).getLengthDelimitedList()) {
            items.add(tensor(TensorProto.parseFrom(element)));
        }
        return items;
    }

    private static TensorData tensor(TensorProto t) {
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        return switch (t.getDataType()) {
            case TensorProto.DataType.FLOAT_VALUE -> TensorData.ofFloats(shape, TensorProtoValues.of(t, "test").floats());
            case TensorProto.DataType.INT64_VALUE, TensorProto.DataType.INT32_VALUE -> TensorData.ofLongs(shape, TensorProtoValues.of(t, "test").longs());
            case TensorProto.DataType.BOOL_VALUE -> {
                long[] v = new long[(int) TensorData.elementCount(shape)];
                for (int i = 0; i < v.length; i++) {
                    v[i] = t.getRawData().isEmpty() ? t.getInt32Data(i) : t.getRawData().byteAt(i);
                }
                yield TensorData.ofLongs(shape, v);
            }
            default -> throw new IllegalArgumentException("test data type " + t.getDataType() + " not handled");
        };
    }

    /** Same shape; floats within FP16 rounding of the reference (relative 2e-3, absolute 1e-3); integers equal. */
    private static void assertClose(TensorData want, TensorData got, String what) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        assertEquals(want.isFloat(), got.isFloat(), what + ": element kind");
        if (!want.isFloat()) {
            assertArrayEquals(want.longs(), got.longs(), what);
            return;
        }
        for (int i = 0; i < want.size(); i++) {
            float w = want.floats()[i];
            assertEquals(w, got.floats()[i], 2e-3 * Math.abs(w) + 1e-3, what + " [" + i + "]");
        }
    }
}
