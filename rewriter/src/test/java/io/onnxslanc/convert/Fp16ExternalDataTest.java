package io.onnxslanc.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes converted weights as external data and checks every byte against the independent
 * BigDecimal reference. The weight spans more than one conversion chunk.
 */
class Fp16ExternalDataTest {
    private static final float[] SAMPLES = samples();
    private static final short[] EXPECTED = new short[SAMPLES.length];

    static {
        for (int i = 0; i < SAMPLES.length; i++) {
            EXPECTED[i] = HalfReference.toHalf(SAMPLES[i], 65504, 0x1p-24);
        }
    }

    @TempDir
    Path dir;

    /** Special values, rounding ties, range edges and a few hundred random floats of all magnitudes. */
    static float[] samples() {
        List<Float> s = new ArrayList<>(List.of(0f, -0f, 1f, -1f, 0.1f, 1f / 3, (float) Math.PI, -2.5f,
                65504f, -65504f, 65519f, 65520f, 65536f, 1e6f, -1e6f, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.MIN_VALUE, -Float.MIN_VALUE, 1e-10f, -1e-10f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 3e-8f,
                6e-8f, 0x1p-14f, 0x1.ff8p-15f, 0x1.ffcp-15f, 0x1.ffep-15f, 0x1p-20f, 0x1.4p-20f,
                1 + 0x1p-11f, 1 + 0x3p-11f, -(1 + 0x1p-11f), 2049f, 2051f, 1 + 0x1p-12f, 1 + 0x1.8p-11f,
                Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-5f, 12345.678f));
        Random r = new Random(42);
        while (s.size() < 400) {
            int exp = 127 - 30 + r.nextInt(51); // 2^-30 .. 2^20
            int bits = (r.nextBoolean() ? 0x80000000 : 0) | (exp << 23) | r.nextInt(1 << 23);
            s.add(Float.intBitsToFloat(bits));
        }
        float[] out = new float[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.get(i);
        }
        return out;
    }

    private static float[] bigWeight() {
        int n = ConvertedTensor.CHUNK_BYTES / 4 + 300_001; // more than one chunk, odd length
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = SAMPLES[i % SAMPLES.length];
        }
        return data;
    }

    private static Model addModel(float[] w) {
        Graph g = new Graph();
        Value x = TestGraphs.floatInput(g, "x", w.length);
        Value wv = g.addInitializer("W", ArrayTensor.ofFloats(new long[] {w.length}, w));
        g.addOutput(TestGraphs.node(g, "Add", "add", List.of(x, wv), "y").output(0));
        return TestGraphs.model(g, 17);
    }

    private static void assertMatchesReference(short[] got, int n) {
        assertEquals(n, got.length);
        for (int i = 0; i < n; i++) {
            short want = EXPECTED[i % SAMPLES.length];
            if (HalfReference.isHalfNaN(want)) {
                assertTrue(HalfReference.isHalfNaN(got[i]), "element " + i + " should be NaN");
            } else if (want != got[i]) {
                assertEquals(want, got[i], "element " + i + " = " + SAMPLES[i % SAMPLES.length]);
            }
        }
    }

    @Test
    void externalWeightIsStreamedToExternalDataAndMatchesTheReference() throws IOException {
        float[] w = bigWeight();
        Path fp32 = dir.resolve("fp32.onnx");
        Path fp16 = dir.resolve("fp16.onnx");
        WriteOptions external = WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL);
        ModelWriter.write(addModel(w), fp32, external);
        Model m = ModelReader.read(fp32);
        assertTrue(m.graph().lookup("W").constant() instanceof ExternalTensor);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults());
        assertTrue(((ConvertedTensor) m.graph().lookup("W").constant()).source() instanceof ExternalTensor);
        ModelWriter.write(m, fp16, external);

        // the bytes in the new data file, located through the written model's own external_data entries
        ModelProto proto = ModelReader.readProto(fp16);
        TensorProto t = proto.getGraph().getInitializerList().stream().filter(p -> p.getName().equals("W"))
                .findFirst().orElseThrow();
        assertEquals(DataType.FLOAT16.code(), t.getDataType());
        assertEquals(TensorProto.DataLocation.EXTERNAL, t.getDataLocation());
        String location = entry(t, "location");
        long offset = Long.parseLong(entry(t, "offset"));
        long length = Long.parseLong(entry(t, "length"));
        assertEquals(2L * w.length, length);
        ByteBuffer bytes = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(dir.resolve(location), StandardOpenOption.READ)) {
            while (bytes.hasRemaining()) {
                assertTrue(ch.read(bytes, offset + bytes.position()) > 0);
            }
        }
        bytes.flip();
        short[] got = new short[w.length];
        bytes.asShortBuffer().get(got);
        assertMatchesReference(got, w.length);

        // clamp counts were taken while writing, and agree with a direct count
        assertTrue(r.clampCountsComplete());
        long high = 0;
        long low = 0;
        for (float f : w) {
            float a = Math.abs(f);
            if (a > 65504f && a != Float.POSITIVE_INFINITY) {
                high++;
            } else if (a != 0 && a < 0x1p-24f) {
                low++;
            }
        }
        assertEquals(List.of(new ConversionReport.ClampedTensor("W", high, low)), r.clampedTensors());

        // and the reader sees the same float16 tensor
        Model back = ModelReader.read(fp16);
        Tensor wb = back.graph().lookup("W").constant();
        assertEquals(DataType.FLOAT16, wb.dataType());
        assertArrayEquals(got, TestGraphs.shorts(wb));
        assertEquals(DataType.FLOAT16, back.graph().inputs().get(0).elemType());
    }

    @Test
    void inMemorySourceStreamsInPiecesOfAnySize() throws IOException {
        float[] w = bigWeight();
        ConvertedTensor whole = new ConvertedTensor(ArrayTensor.ofFloats(new long[] {w.length}, w), DataType.FLOAT16,
                Fp16Clamp.DEFAULT);
        assertMatchesReference(TestGraphs.shorts(whole), w.length);
        assertMatchesReference(written(whole), w.length); // one 5 MB write, converted in 4 MiB chunks

        // a source that hands out its bytes in odd-sized writes, splitting values between writes
        Tensor ragged = new RaggedSource(ArrayTensor.ofFloats(new long[] {w.length}, w));
        ConvertedTensor streamed = new ConvertedTensor(ragged, DataType.FLOAT16, Fp16Clamp.DEFAULT);
        assertMatchesReference(written(streamed), w.length);
        assertEquals(whole.stats().orElseThrow(), streamed.stats().orElseThrow());
    }

    @Test
    void withoutClampingValuesRoundToInfinityAndZero() {
        ConvertedTensor t = new ConvertedTensor(ArrayTensor.ofFloats(new long[] {SAMPLES.length}, SAMPLES),
                DataType.FLOAT16, Fp16Clamp.NONE);
        short[] got = TestGraphs.shorts(t);
        for (int i = 0; i < SAMPLES.length; i++) {
            short want = HalfReference.toHalf(SAMPLES[i], Double.POSITIVE_INFINITY, 0);
            if (!HalfReference.isHalfNaN(want)) {
                assertEquals(want, got[i], "element " + i + " = " + SAMPLES[i]);
            }
        }
        assertEquals(0, t.stats().orElseThrow().clamped());
    }

    private static short[] written(Tensor t) throws IOException {
        java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
        try (WritableByteChannel out = Channels.newChannel(bos)) {
            t.writeTo(out);
        }
        ByteBuffer b = ByteBuffer.wrap(bos.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        short[] got = new short[b.remaining() / 2];
        b.asShortBuffer().get(got);
        return got;
    }

    private static String entry(TensorProto t, String key) {
        return t.getExternalDataList().stream().filter(e -> e.getKey().equals(key))
                .map(StringStringEntryProto::getValue).findFirst().orElseThrow();
    }

    /** Streams its bytes in writes of 1, 3, 5, 7, ... bytes. */
    private record RaggedSource(Tensor inner) implements Tensor {
        @Override
        public DataType dataType() {
            return inner.dataType();
        }

        @Override
        public long[] dims() {
            return inner.dims();
        }

        @Override
        public long byteSize() {
            return inner.byteSize();
        }

        @Override
        public ByteBuffer read() {
            throw new AssertionError("the converter must stream this source, not read it whole");
        }

        @Override
        public void writeTo(WritableByteChannel out) throws IOException {
            ByteBuffer all = inner.read();
            int step = 1;
            while (all.hasRemaining()) {
                ByteBuffer piece = all.slice();
                piece.limit(Math.min(step, all.remaining()));
                all.position(all.position() + piece.limit());
                while (piece.hasRemaining()) {
                    out.write(piece);
                }
                step = step >= 4099 ? 1 : step + 2;
            }
        }
    }
}
