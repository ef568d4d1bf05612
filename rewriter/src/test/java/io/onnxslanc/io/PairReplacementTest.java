package io.onnxslanc.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacing an output pair (model + external data) never passes through a state where the model on disk names
 * data that is not its own: the new data gets a name no file had, the model is renamed last, the old data goes
 * after. Temps of killed runs are cleaned by the next run; a live run's temps are not.
 */
class PairReplacementTest {
    @TempDir
    Path dir;

    private static Model model(float fill) {
        Graph g = new Graph();
        Model m = new Model(8, g);
        m.opsets().put("", 17L);
        float[] values = new float[4096];
        java.util.Arrays.fill(values, fill);
        Tensor w = ArrayTensor.ofFloats(new long[] {4096}, values);
        var x = g.addInput("x", null);
        var init = g.addInitializer("w", w);
        var n = g.addNode("Add", "", "add", List.of(x, init), List.of("y"));
        g.addOutput(n.outputs().get(0));
        return m;
    }

    private static WriteOptions external() {
        return WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL);
    }

    private static String location(Path model) {
        TensorProto t = ModelReader.readProto(model).getGraph().getInitializer(0);
        return t.getExternalDataList().stream().filter(e -> e.getKey().equals("location")).findFirst().orElseThrow().getValue();
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aReplacedPairGetsAFreshDataNameAndTheOldDataGoesAfterTheModel() throws IOException {
        Path out = dir.resolve("out.onnx");
        ModelWriter.write(model(1f), out, external());
        assertEquals("out.onnx.data", location(out), "a new output gets the documented name");
        byte[] oldData = Files.readAllBytes(dir.resolve("out.onnx.data"));

        ModelWriter.write(model(2f), out, external());
        String second = location(out);
        assertNotEquals("out.onnx.data", second, "the old pair's data file is never overwritten in place");
        assertTrue(second.matches("out\\.onnx\\.[0-9a-f]{16}\\.data"), second);
        assertEquals(List.of("out.onnx", second), names(), "the old data file is gone, nothing else left");
        float v = ModelReader.read(out).graph().initializers().get(0).constant().read().order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
        assertEquals(2f, v);
        assertFalse(java.util.Arrays.equals(oldData, Files.readAllBytes(dir.resolve(second))));

        ModelWriter.write(model(3f), out, external()); // the documented name is free again
        assertEquals("out.onnx.data", location(out));
        assertEquals(List.of("out.onnx", "out.onnx.data"), names());
    }

    @Test
    void inlineOverAnExternalPairRemovesItsDataFile() throws IOException {
        Path out = dir.resolve("out.onnx");
        ModelWriter.write(model(1f), out, external());
        ModelWriter.write(model(2f), out, WriteOptions.defaults());
        assertEquals(List.of("out.onnx"), names());
    }

    @Test
    void tempsOfKilledRunsAreCleanedAndLiveOnesKept() throws IOException {
        Path out = dir.resolve("out.onnx");
        long deadPid = 4_000_000_000L; // above any pid_max
        Path stale = Files.write(dir.resolve(".out.onnx." + deadPid + "-1a2b3c.tmp"), new byte[100]);
        Path staleData = Files.write(dir.resolve(".out.onnx.data." + deadPid + "-99.tmp"), new byte[100]);
        Path live = Files.write(dir.resolve(".out.onnx." + ProcessHandle.current().parent().orElseThrow().pid() + "-77.tmp"), new byte[1]);
        Path unrelated = Files.write(dir.resolve(".out.onnx.notours.tmp"), new byte[1]);
        ModelWriter.write(model(1f), out, external());
        assertFalse(Files.exists(stale));
        assertFalse(Files.exists(staleData));
        assertTrue(Files.exists(live), "a running process's temp is not touched");
        assertTrue(Files.exists(unrelated), "only names this tool gives are cleaned");
    }

    @Test
    void anOutputWhoseDataFileIsTheInputsIsRefused() throws IOException {
        Path in = dir.resolve("in.onnx");
        ModelWriter.write(model(1f), in, external());
        Model m = ModelReader.read(in);
        byte[] before = Files.readAllBytes(dir.resolve("in.onnx.data"));
        Path aliasOut = dir.resolve("alias.onnx");
        assertThrows(ModelFormatException.class, () -> ModelWriter.write(m, aliasOut, external().withDataFileName("in.onnx.data")));
        assertThrows(ModelFormatException.class, () -> ModelWriter.write(m, dir.resolve("in.onnx.data"), WriteOptions.defaults()));
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("in.onnx.data")));
        assertFalse(Files.exists(aliasOut));
    }
}
