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
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Model;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The overlapped pipeline (data file streamed while SLaNC computes) against the plain sequence calibrate -> convert
 * -> write: the same bytes, the same report, and nothing left behind when a step fails.
 */
class SlancPipelineTest {
    private static final WriteOptions EXTERNAL = WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL);

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
    void inlineOutputIsWrittenWithoutSpool(@TempDir Path dir) throws Exception {
        Path in = externalLlama(dir, 42);
        Path out = dir.resolve("out").resolve("inline.onnx");
        SlancPipeline.Result r = SlancPipeline.run(ModelReader.read(in), in, out, SlancOptions.defaults(),
                Fp16Options.defaults(), WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.INLINE));
        assertFalse(r.dataSpooled());
        assertEquals(List.of("inline.onnx"), files(out.getParent()));
        assertNotNull(r.calibration());
    }

    @Test
    void failedCalibrationStopsTheSpoolAndLeavesNothing(@TempDir Path dir) throws Exception {
        TestGraph t = Transformers.llama(43);
        float[] wo = t.data("l0.wo").clone();
        wo[3] = Float.NaN;
        t.g.lookup("l0.wo").setConstant(ArrayTensor.ofFloats(new long[] {Transformers.LD, Transformers.LD}, wo));
        Path in = dir.resolve("in").resolve("nan.onnx");
        ModelWriter.write(t.model, in, EXTERNAL);
        Path outDir = Files.createDirectories(dir.resolve("out"));
        CalibrationException e = assertThrows(CalibrationException.class, () -> SlancPipeline.run(ModelReader.read(in),
                in, outDir.resolve("out.onnx"), SlancOptions.defaults(), Fp16Options.defaults(), EXTERNAL));
        assertTrue(e.getMessage().contains("'l0.wo' contains NaN"), e.getMessage());
        assertEquals(List.of(), files(outDir), "neither output nor spool temp file");
    }

    @Test
    void aSpoolThatNoLongerMatchesIsDiscardedAndTheDataWrittenAnew(@TempDir Path dir) throws Exception {
        Path in = externalLlama(dir, 44);
        Path out = dir.resolve("out").resolve("m.onnx");
        DataSpool spool = ModelWriter.spool(ModelReader.read(in), out, EXTERNAL);
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
