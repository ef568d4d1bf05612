package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Never silent and --strict, through the main command (synthetic models built in the test). */
class StrictCommandTest {
    @TempDir
    Path dir;

    /** y = x / sqrt(mean(x^2 over axis 0) + eps): RMSNorm-like, but over the wrong axis. */
    private Path wrongAxisRms() throws IOException {
        NodeProto mean = TinyModels.node("ReduceMean", "ms", new String[] {"sq"}, "ms_out").toBuilder()
                .addAttribute(AttributeProto.newBuilder().setName("axes").setType(AttributeProto.AttributeType.INTS).addInts(0))
                .addAttribute(AttributeProto.newBuilder().setName("keepdims").setType(AttributeProto.AttributeType.INT).setI(1))
                .build();
        TensorProto eps = TensorProto.newBuilder().setName("eps").setDataType(1).addFloatData(1e-6f).build();
        GraphProto g = GraphProto.newBuilder().setName("near-miss")
                .addNode(TinyModels.node("Mul", "square", new String[] {"x", "x"}, "sq"))
                .addNode(mean)
                .addNode(TinyModels.node("Add", "add_eps", new String[] {"ms_out", "eps"}, "ve"))
                .addNode(TinyModels.node("Sqrt", "root", new String[] {"ve"}, "rms"))
                .addNode(TinyModels.node("Div", "normalise", new String[] {"x", "rms"}, "y"))
                .addInitializer(eps).addInput(TinyModels.floatInfo("x", 2, 8)).addOutput(TinyModels.floatInfo("y", 2, 8))
                .build();
        return TinyModels.write(dir, "near-miss.onnx", g);
    }

    @Test
    void aNearMissIsReportedWithItsReasonAndTheSummary() throws IOException {
        Path in = wrongAxisRms();
        Path out = dir.resolve("out.onnx");
        Path report = dir.resolve("report.json");
        CliRunner r = CliRunner.run(in.toString(), out.toString(), "-q", "--report", report.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("not matched: Sqrt 'root' (output 'rms'): decomposed RMSNorm at 'normalise': "
                + "the variance is a mean over axes [0], not over the last axis"), r.out());
        assertTrue(r.out().contains("SLaNC: 0 of 0 norms scaled, 0 first norms at s = 1, 0 unscaled, "
                + "1 norm-like candidate not matched"), r.out());
        assertFalse(r.out().contains("warning: no LayerNorm / RMSNorm found\n"), "never the only thing said");
        String json = Files.readString(report);
        assertTrue(json.contains("\"candidates\""), json);
        assertTrue(json.contains("\"node\" : \"root\""), json);
    }

    @Test
    void strictRefusesCandidatesWithoutAnyNormWithExitThreeAndNoOutput() throws IOException {
        Path in = wrongAxisRms();
        Path out = dir.resolve("out.onnx");
        CliRunner r = CliRunner.run(in.toString(), out.toString(), "-q", "--strict");
        assertEquals(3, r.exitCode(), r.out() + r.err());
        assertFalse(Files.exists(out), "no output file");
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].startsWith("error: " + in + ": --strict: 1 norm or norm-like candidate not scaled"), r.err());
    }

    @Test
    void strictRefusesAnUnscaledNonFirstNorm() throws IOException {
        Path in = TinyModels.unrecognisedBlock(dir);
        Path out = dir.resolve("out.onnx");
        CliRunner r = CliRunner.run(in.toString(), out.toString(), "-q", "--strict");
        assertEquals(3, r.exitCode(), r.out() + r.err());
        assertFalse(Files.exists(out));
        assertTrue(r.err().startsWith("error: " + in + ": --strict: 1 norm"), r.err());
        CliRunner lenient = CliRunner.run(in.toString(), out.toString(), "-q");
        assertEquals(0, lenient.exitCode(), lenient.err());
        assertTrue(lenient.out().contains("SLaNC: 0 of 2 norms scaled, 1 first norm at s = 1, 1 unscaled"), lenient.out());
    }
}
