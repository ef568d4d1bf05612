package io.onnxslanc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.CalibrationException;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.calibrate.TestGraph;
import io.onnxslanc.calibrate.Transformers;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.DataSpool;
import io.onnxslanc.io.HeadSpool;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Model;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The overlapped pipeline (data file streamed while SLaNC computes) against the plain sequence calibrate -> convert
 * -> write: the same bytes, the same report, and nothing left behind when a step fails.
 */
class SlancPipelineTest {
    private static final WriteOptions EXTERNAL = WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL);
    private static final WriteOptions INLINE = WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.INLINE);

    /** A small Llama written with its weights in an external data file, as big models come. */
    private static Path externalLlama(Path dir, long seed) {
        Path in = dir.resolve("in").resolve("llama.onnx");
        ModelWriter.write(Transformers.llama(seed).model, in, EXTERNAL);
        return in;
    }

    private static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void spooledDataGivesTheSameFilesAsTheSequentialSteps(@TempDir Path dir) throws Exception {
        Path in = externalLlama(dir, 41);

        Model sequential = ModelReader.read(in);
        CalibrationReport expectedCalibration = Slanc.calibrate(sequential, SlancOptions.defaults());
        ConversionReport expectedConversion = Fp16Converter.convert(sequential, Fp16Options.defaults());
        sequential.graph().cleanup();
        Path expected = dir.resolve("sequential").resolve("out.onnx");
        ModelWriter.write(sequential, expected, EXTERNAL);

        Path actual = dir.resolve("pipeline").resolve("out.onnx");
        SlancPipeline.Result r = SlancPipeline.run(ModelReader.read(in), in, actual, SlancOptions.defaults(),
                Fp16Options.defaults(), EXTERNAL);

        assertTrue(r.dataSpooled(), "the data file was written while SLaNC computed and adopted");
        assertArrayEquals(Files.readAllBytes(expected), Files.readAllBytes(actual));
        assertArrayEquals(Files.readAllBytes(expected.resolveSibling("out.onnx.data")),
                Files.readAllBytes(actual.resolveSibling("out.onnx.data")));
        assertEquals(List.of("out.onnx", "out.onnx.data"), files(actual.getParent()), "no temp file left");
        // written through temp files, yet with the permissions any new file gets here (not owner-only)
        var usual = Files.getPosixFilePermissions(Files.createFile(dir.resolve("plain-new-file")));
        assertEquals(usual, Files.getPosixFilePermissions(actual));
        assertEquals(usual, Files.getPosixFilePermissions(actual.resolveSibling("out.onnx.data")));
        assertEquals(json(expectedCalibration), json(r.calibration()));
        assertTrue(r.conversion().clampCountsComplete(), "clamp counts taken over from the spooled conversion");
        assertEquals(json(expectedConversion), json(r.conversion()));
    }

    @Test
    void weightsInsideTheOnnxAreNotSpooled(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("in").resolve("inline.onnx");
        ModelWriter.write(Transformers.llama(45).model, in); // weights inline: they cannot name their content
        Path out = dir.resolve("out").resolve("m.onnx");
        assertEquals(null, ModelWriter.spool(ModelReader.read(in), out, EXTERNAL));
        assertFalse(Files.exists(out.getParent()) && !files(out.getParent()).isEmpty(), "nothing written");
        SlancPipeline.Result r = SlancPipeline.run(ModelReader.read(in), in, out, SlancOptions.defaults(),
                Fp16Options.defaults(), EXTERNAL);
        assertFalse(r.dataSpooled());
        assertEquals(List.of("m.onnx", "m.onnx.data"), files(out.getParent()));
    }

    @Test
    void smallInlineOutputIsWrittenWithoutSpoolInProtobufsOwnLayout(@TempDir Path dir) throws Exception {
        Path in = externalLlama(dir, 42);
        Path out = dir.resolve("out").resolve("inline.onnx");
        SlancPipeline.Result r = SlancPipeline.run(ModelReader.read(in), in, out, SlancOptions.defaults(),
                Fp16Options.defaults(), INLINE);
        assertFalse(r.dataSpooled(), "under " + SlancPipeline.INLINE_SPOOL_MIN_BYTES + " bytes of weights");
        assertEquals(List.of("inline.onnx"), files(out.getParent()));
        assertNotNull(r.calibration());
        byte[] bytes = Files.readAllBytes(out);
        assertArrayEquals(ModelProto.parseFrom(bytes).toByteArray(), bytes);
    }

    /** The sequential steps' model (calibrate, convert, clean up). */
    private static Model sequential(Path in) {
        Model m = ModelReader.read(in);
        Slanc.calibrate(m, SlancOptions.defaults());
        Fp16Converter.convert(m, Fp16Options.defaults());
        m.graph().cleanup();
        return m;
    }

    /** Initializers by name; the rest of the model with none. */
    private static Map<String, TensorProto> initializers(ModelProto m) {
        Map<String, TensorProto> byName = new TreeMap<>();
        m.getGraph().getInitializerList().forEach(t -> byName.put(t.getName(), t));
        return byName;
    }

    private static ModelProto withoutInitializers(ModelProto m) {
        return m.toBuilder().setGraph(m.getGraph().toBuilder().clearInitializer()).build();
    }

    @Test
    void inlineOutputWithItsWeightsSpooledAheadHoldsTheSequentialModel(@TempDir Path dir) throws Exception {
        Path in = externalLlama(dir, 46);
        Model reference = ModelReader.read(in);
        CalibrationReport expectedCalibration = Slanc.calibrate(reference, SlancOptions.defaults());
        Fp16Converter.convert(reference, Fp16Options.defaults());
        reference.graph().cleanup();
        Path expected = dir.resolve("sequential").resolve("out.onnx");
        ModelWriter.write(reference, expected, INLINE); // protobuf's own layout
        Path actual = dir.resolve("pipeline").resolve("out.onnx");
        SlancPipeline.Result r = SlancPipeline.run(ModelReader.read(in), in, actual, SlancOptions.defaults(),
                Fp16Options.defaults(), INLINE, 0);

        assertTrue(r.dataSpooled(), "the weights were written while SLaNC computed and adopted");
        assertEquals(List.of("out.onnx"), files(actual.getParent()), "no temp file left");
        ModelProto e = ModelProto.parseFrom(Files.readAllBytes(expected));
        byte[] bytes = Files.readAllBytes(actual);
        ModelProto a = ModelProto.parseFrom(bytes);
        assertEquals(initializers(e), initializers(a));
        assertEquals(withoutInitializers(e), withoutInitializers(a));
        // weights first: the graph's five-byte length, then an initializer (field 5) where protobuf puts a node
        int graphTag = (ModelProto.GRAPH_FIELD_NUMBER << 3) | 2;
        ModelProto.Builder below = e.toBuilder();
        below.getDescriptorForType().getFields().stream().filter(f -> f.getNumber() >= ModelProto.GRAPH_FIELD_NUMBER)
                .forEach(below::clearField);
        int at = below.build().getSerializedSize();
        assertEquals(graphTag, bytes[at] & 0xFF);
        assertEquals((5 << 3) | 2, bytes[at + 6] & 0xFF);
        long length = 0;
        for (int i = 0; i < 5; i++) {
            length |= (long) (bytes[at + 1 + i] & 0x7F) << (7 * i);
        }
        assertEquals(e.getGraph().getSerializedSize(), length, "the length filled in last is the graph's");
        assertEquals(json(expectedCalibration), json(r.calibration()));
        // our own reader takes the layout back (initializers in file order): written again plainly, the same model
        Path again = dir.resolve("again").resolve("out.onnx");
        ModelWriter.write(ModelReader.read(actual), again, INLINE);
        ModelProto g = ModelProto.parseFrom(Files.readAllBytes(again));
        assertEquals(initializers(e), initializers(g));
        assertEquals(withoutInitializers(e), withoutInitializers(g));
    }

    @Test
    void aHeadSpoolThatNoLongerMatchesGivesTheSameFileWrittenWhole(@TempDir Path dir) throws Exception {
        Path in = externalLlama(dir, 47);
        Path adopted = dir.resolve("adopted").resolve("m.onnx");
        SlancPipeline.run(ModelReader.read(in), in, adopted, SlancOptions.defaults(), Fp16Options.defaults(), INLINE, 0);

        Model stale = ModelReader.read(in); // spooled before one weight changed: same size, other bytes
        Fp16Converter.convert(stale, Fp16Options.defaults());
        Path out = dir.resolve("whole").resolve("m.onnx");
        HeadSpool spool = (HeadSpool) ModelWriter.spool(stale, out, INLINE);
        assertNotNull(spool);
        assertEquals(1, files(out.getParent()).size(), "the spool's temp file");
        Model changed = ModelReader.read(in);
        io.onnxslanc.ir.Value wv = changed.graph().lookup("l0.wv");
        float[] data = Transformers.llama(47).data("l0.wv").clone();
        data[0] += 1f;
        wv.setConstant(ArrayTensor.ofFloats(wv.constant().dims(), data)); // built in memory: cannot name its content
        Slanc.calibrate(changed, SlancOptions.defaults());
        Fp16Converter.convert(changed, Fp16Options.defaults());
        changed.graph().cleanup();
        ModelWriter.write(changed, out, INLINE, spool);
        assertFalse(spool.adopted());
        assertEquals(List.of("m.onnx"), files(out.getParent()), "the stale spool was deleted");
        Path plain = dir.resolve("plain").resolve("m.onnx");
        ModelWriter.write(changed, plain, INLINE);
        ModelProto p = ModelProto.parseFrom(Files.readAllBytes(plain));
        ModelProto w = ModelProto.parseFrom(Files.readAllBytes(out));
        assertEquals(initializers(p), initializers(w));
        assertEquals(withoutInitializers(p), withoutInitializers(w));

        // the unchanged model through a stale spool: the bytes of the adopted run
        Model same = sequential(in);
        Path viaStale = dir.resolve("via-stale").resolve("m.onnx");
        Model otherTwin = ModelReader.read(in); // not converted: every tensor header differs
        HeadSpool other = (HeadSpool) ModelWriter.spool(otherTwin, viaStale, INLINE);
        ModelWriter.write(same, viaStale, INLINE, other);
        assertFalse(other.adopted());
        assertArrayEquals(Files.readAllBytes(adopted), Files.readAllBytes(viaStale));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void failedCalibrationStopsTheSpoolAndLeavesNothing(boolean inline, @TempDir Path dir) throws Exception {
        TestGraph t = Transformers.llama(43);
        float[] wo = t.data("l0.wo").clone();
        wo[3] = Float.NaN;
        t.g.lookup("l0.wo").setConstant(ArrayTensor.ofFloats(new long[] {Transformers.LD, Transformers.LD}, wo));
        Path in = dir.resolve("in").resolve("nan.onnx");
        ModelWriter.write(t.model, in, EXTERNAL);
        Path outDir = Files.createDirectories(dir.resolve("out"));
        // the data file spooled (external output), or the inline head (any size of weights)
        CalibrationException e = assertThrows(CalibrationException.class, () -> SlancPipeline.run(ModelReader.read(in),
                in, outDir.resolve("out.onnx"), SlancOptions.defaults(), Fp16Options.defaults(),
                inline ? INLINE : EXTERNAL, 0));
        assertTrue(e.getMessage().contains("'l0.wo' contains NaN"), e.getMessage());
        assertEquals(List.of(), files(outDir), "neither output nor spool temp file");
    }

    @Test
    void aSpoolThatNoLongerMatchesIsDiscardedAndTheDataWrittenAnew(@TempDir Path dir) throws Exception {
        Path in = externalLlama(dir, 44);
        Path out = dir.resolve("out").resolve("m.onnx");
        DataSpool spool = (DataSpool) ModelWriter.spool(ModelReader.read(in), out, EXTERNAL);
        assertNotNull(spool);
        assertEquals(1, files(out.getParent()).size(), "the spool's temp file");

        Model changed = ModelReader.read(in); // one weight replaced after spooling: same size, different bytes
        io.onnxslanc.ir.Value wv = changed.graph().lookup("l0.wv");
        float[] data = Transformers.llama(44).data("l0.wv").clone();
        data[0] += 1f;
        wv.setConstant(ArrayTensor.ofFloats(wv.constant().dims(), data));
        ModelWriter.write(changed, out, EXTERNAL, spool);
        assertFalse(spool.adopted());

        Path reference = dir.resolve("ref").resolve("m.onnx");
        ModelWriter.write(changed, reference, EXTERNAL);
        assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(out));
        assertArrayEquals(Files.readAllBytes(reference.resolveSibling("m.onnx.data")),
                Files.readAllBytes(out.resolveSibling("m.onnx.data")));
        assertEquals(List.of("m.onnx", "m.onnx.data"), files(out.getParent()), "the stale spool was deleted");
    }

    private static String json(io.onnxslanc.calibrate.CalibrationReport r) {
        return io.onnxslanc.ReportJson.text(io.onnxslanc.ReportJson.calibration(r));
    }

    private static String json(io.onnxslanc.convert.ConversionReport r) {
        return io.onnxslanc.ReportJson.text(io.onnxslanc.ReportJson.conversion(r));
    }
}
