package io.onnxslanc.check.model;

import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.probe.NormProbe;
import io.onnxslanc.check.probe.NormTap;
import io.onnxslanc.check.probe.ProbeReport;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ModelSourceTest {
    private static final int D = 8;
    private static final float[] GAMMA = {1, 2, 3, 4, 5, 6, 7, 8};

    /** The decomposed RMSNorm with gamma moved to weights.bin at offset 16. */
    private static Path writeWithExternalGamma(Path dir, String location) throws Exception {
        ModelProto m = TestModels.decomposedRmsNorm(2, D, 1e-5f, GAMMA, TestModels.F);
        GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (!t.getName().equals("gamma")) continue;
            byte[] data = new byte[16 + t.getRawData().size()];
            t.getRawData().copyTo(data, 16);
            Files.write(dir.resolve("weights.bin"), data);
            g.setInitializer(i, t.toBuilder().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("16"))
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(String.valueOf(4 * D))));
        }
        Path file = dir.resolve("model.onnx");
        Files.write(file, m.toBuilder().setGraph(g).build().toByteArray());
        return file;
    }

    private static float[] run(OpenedSession s, float[] x) {
        return Runs.run(s.session(), "m", Map.of("x", TensorData.ofFloats(new long[]{2, D}, x))).get("y").floats();
    }

    @Test
    void externalDataIsFoundFromFileInlinedAndForTransformedModels(@TempDir Path dir) throws Exception {
        Path file = writeWithExternalGamma(dir, "weights.bin");
        float[] x = new float[2 * D];
        for (int i = 0; i < x.length; i++) x[i] = i - 7.5f;
        float[] expected = new float[2 * D];
        for (int r = 0; r < 2; r++) {
            double ss = 0;
            for (int j = 0; j < D; j++) ss += x[r * D + j] * x[r * D + j];
            for (int j = 0; j < D; j++) expected[r * D + j] = (float) (x[r * D + j] / Math.sqrt(ss / D + 1e-5) * GAMMA[j]);
        }
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.file(file))) {
            assertArrayEquals(expected, run(s, x), 1e-5f);
        }
        ModelSource inlined = ModelSource.read(file);
        TensorProto gamma = inlined.model().getGraph().getInitializerList().stream().filter(t -> t.getName().equals("gamma")).findFirst().orElseThrow();
        assertFalse(ModelSource.isExternal(gamma));
        assertArrayEquals(GAMMA, io.onnxslanc.check.ProtoBuilders.floats(gamma));
        try (OpenedSession s = SessionFactory.cpu().open(inlined)) {
            assertArrayEquals(expected, run(s, x), 1e-5f);
        }
        // an in-memory transform that keeps the external reference: the session is told the folder
        ModelSource transformed = ModelSource.file(file).withModel(ModelSource.parse(file), "same");
        assertEquals(dir.toAbsolutePath(), transformed.externalDataDir());
        try (OpenedSession s = SessionFactory.cpu().open(transformed)) {
            assertArrayEquals(expected, run(s, x), 1e-5f);
        }
        IllegalArgumentException lost = assertThrows(IllegalArgumentException.class,
                () -> SessionFactory.cpu().open(ModelSource.of("mem.onnx", ModelSource.parse(file))));
        assertTrue(lost.getMessage().startsWith("mem.onnx: in-memory model references external data"), lost.getMessage());
        ProbeReport probe = NormProbe.run(ModelSource.file(file), List.of(new NormTap("rms", "x", D, Double.NaN)),
                List.of(Map.of("x", TensorData.ofFloats(new long[]{2, D}, x))), SessionFactory.cpu());
        assertEquals(7.5, probe.norms().get(0).maxAbs());
        try (Emulation.EmulatedSession e = Emulation.open(ModelSource.file(file), Emulation.Mode.FP16_STORAGE, SessionFactory.cpu(), true)) {
            assertArrayEquals(expected, run(e.opened(), x), 2e-2f);
        }
    }

    @Test
    void badFilesGiveOneLineMessages(@TempDir Path dir) throws Exception {
        Path escaping = writeWithExternalGamma(dir, "../weights.bin");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelSource.read(escaping));
        assertTrue(e.getMessage().contains("leaves the model's folder"), e.getMessage());
        Path junk = dir.resolve("junk.onnx");
        Files.writeString(junk, "not a model at all");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelSource.read(junk)).getMessage().startsWith(junk + ": cannot read as an ONNX model"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelSource.file(dir.resolve("none.onnx"))).getMessage().endsWith("no such model file"));
    }
}
