package io.onnxslanc.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.SlancPipeline;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import io.onnxslanc.testing.ChildJvm;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inline writer streams: a SYNTHETIC model with 300 MB of float32 external weights converts to a 150 MB
 * inline float16 model in a child JVM whose heap (128 MiB) is smaller than the output. A writer that builds the
 * protobuf in memory dies there with OutOfMemoryError.
 */
class BoundedHeapWriteTest {
    private static final int ROWS = 1024;
    private static final int COLS = 18432; // 72 MiB of float32 per weight
    private static final int WEIGHTS = 4;

    @TempDir
    Path dir;

    /** The child JVM: FP16 conversion (no SLaNC) and an inline write. */
    public static void main(String[] args) {
        Path in = Path.of(args[0]);
        SlancPipeline.run(ModelReader.read(in), in, Path.of(args[1]), null, Fp16Options.defaults(),
                WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.INLINE));
    }

    /** Element i of weight w: smooth values in the normal float16 range, cheap to regenerate in the check. */
    private static float value(int w, long i) {
        return (float) (Math.sin(i * 0.001 + w) * (1 + (i % 97)));
    }

    @Test
    void inlineFp16OfA300MbModelFitsIn128MbOfHeap() throws Exception {
        Path model = syntheticModel();
        Path out = dir.resolve("out.onnx");
        Process p = ChildJvm.of(List.of("-Xmx128m"), BoundedHeapWriteTest.class, List.of(model.toString(),
                out.toString())).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), log);
        assertTrue(Files.size(out) > (long) WEIGHTS * ROWS * COLS * 2, "inline float16 weights: " + Files.size(out));
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.READ)) { // parse the result independently
            ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            com.google.protobuf.CodedInputStream cin = com.google.protobuf.CodedInputStream.newInstance(mapped);
            cin.enableAliasing(true);
            cin.setSizeLimit(Integer.MAX_VALUE);
            GraphProto g = ModelProto.parseFrom(cin).getGraph();
            assertEquals(WEIGHTS, g.getInitializerCount());
            for (int w = 0; w < WEIGHTS; w++) {
                TensorProto t = g.getInitializer(w);
                assertEquals(TensorProto.DataType.FLOAT16_VALUE, t.getDataType());
                ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                assertEquals((long) ROWS * COLS * 2, raw.remaining());
                for (long i = 0; i < (long) ROWS * COLS; i += 7919) {
                    float expected = value(w, i);
                    float got = FloatBits.halfToFloat(raw.getShort((int) (i * 2)));
                    assertEquals(expected, got, Math.abs(expected) * 0x1p-11 + 0x1p-24, "weight " + w + " element " + i);
                }
            }
        }
    }

    /** x -> MatMul(w0) -> MatMul(w1^T-shaped w1) ... with square-compatible shapes, weights in one external file. */
    private Path syntheticModel() throws IOException {
        Path data = dir.resolve("weights.bin");
        GraphProto.Builder g = GraphProto.newBuilder().setName("synthetic-heap-test");
        String x = "x";
        long offset = 0;
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (int w = 0; w < WEIGHTS; w++) {
                boolean wide = w % 2 == 0; // [ROWS, COLS] then [COLS, ROWS]
                long n = (long) ROWS * COLS;
                for (long i = 0; i < n; i++) {
                    buf.putFloat(value(w, i));
                    if (!buf.hasRemaining()) {
                        ch.write(buf.flip());
                        buf.clear();
                    }
                }
                ch.write(buf.flip());
                buf.clear();
                g.addInitializer(TensorProto.newBuilder().setName("w" + w).setDataType(1)
                        .addDims(wide ? ROWS : COLS).addDims(wide ? COLS : ROWS)
                        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(kv("location", "weights.bin")).addExternalData(kv("offset", Long.toString(offset)))
                        .addExternalData(kv("length", Long.toString(n * 4))));
                offset += n * 4;
                g.addNode(NodeProto.newBuilder().setOpType("MatMul").setName("mm" + w).addInput(x).addInput("w" + w)
                        .addOutput("h" + w));
                x = "h" + w;
            }
        }
        g.addInput(info("x", 1, ROWS)).addOutput(info(x, 1, ROWS));
        Path model = dir.resolve("model.onnx");
        Files.write(model, ModelProto.newBuilder().setIrVersion(8).setProducerName("synthetic")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(g).build().toByteArray());
        return model;
    }

    private static StringStringEntryProto kv(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static ValueInfoProto info(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }
}
