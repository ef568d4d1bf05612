package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import io.onnxslanc.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every failure: `error: <file>: <problem>` (+ one hint at most), exit 1, no stack trace unless --debug. */
class FailureOutputTest {
    @TempDir
    Path dir;

    private static void assertNoTrace(String err) {
        assertFalse(err.contains("\tat ") || err.contains("Exception in thread"), "no stack trace: " + err);
        assertTrue(err.lines().count() <= 2, "one error line and at most one hint: " + err);
        assertTrue(err.startsWith("error: "), err);
    }

    private void assertNothingWritten() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> n.contains("out")).toList();
            assertEquals(List.of(), names, "no output and no temp files");
        }
    }

    /** A 32 MB float_data initializer: parsing it needs more than a 16 MiB heap. */
    private Path heapHungryModel() throws IOException {
        TensorProto.Builder w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(8 << 20);
        for (int i = 0; i < (8 << 20); i++) {
            w.addFloatData(i);
        }
        GraphProto g = GraphProto.newBuilder().setName("g").addInitializer(w)
                .addNode(TinyModels.node("Add", "add", new String[] {"x", "w"}, "y"))
                .addInput(TinyModels.floatInfo("x", 8 << 20)).addOutput(TinyModels.floatInfo("y", 8 << 20)).build();
        return TinyModels.write(dir, "big.onnx", g);
    }

    private Process cli(String heap, String... args) throws IOException {
        return ChildJvm.of(List.of(heap), Main.class, List.of(args)).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    @Test
    void outOfMemoryIsOneLineAndAHint() throws Exception {
        Path in = heapHungryModel();
        Process p = cli("-Xmx16m", in.toString(), dir.resolve("out.onnx").toString(), "--quiet");
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(3, TimeUnit.MINUTES));
        assertEquals(1, p.exitValue(), err);
        assertNoTrace(err);
        assertTrue(err.contains("out of memory") && err.contains(in.toString()), err);
        assertTrue(err.lines().toList().get(1).startsWith("hint: "), err);
        assertNothingWritten();
    }

    @Test
    void debugPrintsTheTrace() throws Exception {
        Path in = heapHungryModel();
        Process p = cli("-Xmx16m", in.toString(), dir.resolve("out.onnx").toString(), "--quiet", "--debug");
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(3, TimeUnit.MINUTES));
        assertEquals(1, p.exitValue(), err);
        assertTrue(err.startsWith("error: ") && err.contains("\tat "), err);
    }

    @Test
    void inlineAndExternalDataTogetherAreAUsageError() throws IOException {
        Path in = TinyModels.relu(dir);
        CliRunner r = CliRunner.run(in.toString(), dir.resolve("out.onnx").toString(), "--inline", "--external-data", "--quiet");
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("--inline") && r.err().contains("--external-data"), r.err());
        assertNothingWritten();
    }

    @Test
    void aReportThatCannotBeWrittenLeavesNoModel() throws IOException {
        Path in = TinyModels.relu(dir);
        Path blocker = Files.writeString(dir.resolve("not-a-folder"), "a file where the report's folder should be");
        CliRunner r = CliRunner.run(in.toString(), dir.resolve("out.onnx").toString(), "--report",
                blocker.resolve("report.json").toString(), "--quiet");
        assertEquals(1, r.exitCode(), r.err());
        assertNoTrace(r.err());
        assertTrue(r.err().contains("report.json"), r.err());
        assertNothingWritten();
    }

    @Test
    void controlCharactersInFileNamesArePrintedEscaped() throws IOException {
        Path in = dir.resolve("evil\u001b[2J\nname.onnx");
        CliRunner r = CliRunner.run(in.toString(), dir.resolve("out.onnx").toString(), "--quiet");
        assertEquals(1, r.exitCode(), r.err());
        assertNoTrace(r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("evil\\x1b[2J\\x0aname.onnx"), r.err());
    }

    @Test
    void aTensorWithUndefinedTypeIsOneLine() throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("g")
                .addInitializer(TensorProto.newBuilder().setName("w").setDataType(0).addDims(4)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[16])))
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("w").addOutput("y"))
                .addInput(TinyModels.floatInfo("x", 4)).addOutput(TinyModels.floatInfo("y", 4)).build();
        Path in = TinyModels.write(dir, "undefined.onnx", g);
        CliRunner r = CliRunner.run(in.toString(), dir.resolve("out.onnx").toString(), "--quiet");
        assertEquals(1, r.exitCode(), r.err());
        assertNoTrace(r.err());
        assertTrue(r.err().contains("UNDEFINED") && r.err().contains("undefined.onnx"), r.err());
        assertNothingWritten();
    }
}
