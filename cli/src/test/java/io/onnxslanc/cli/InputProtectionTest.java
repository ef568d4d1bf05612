package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No command writes over its input model or a data file that model references: exit 1, input byte-identical. */
class InputProtectionTest {
    @TempDir
    Path dir;

    private void refused(Path[] inputs, String... args) throws IOException {
        byte[][] before = new byte[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            before[i] = Files.readAllBytes(inputs[i]);
        }
        CliRunner r = CliRunner.run(args);
        assertEquals(1, r.exitCode(), r.out() + r.err());
        assertTrue(r.err().startsWith("error: ") && r.err().contains("never modified"), r.err());
        for (int i = 0; i < inputs.length; i++) {
            assertArrayEquals(before[i], Files.readAllBytes(inputs[i]), inputs[i] + " unchanged");
        }
    }

    private Path[] external() throws IOException {
        Path in = TinyModels.withExternalWeight(dir, "w.bin", 1024);
        return new Path[] {in, dir.resolve("w.bin")};
    }

    @Test
    void reportNamingTheInputModel() throws IOException {
        Path[] in = external();
        refused(in, in[0].toString(), dir.resolve("out.onnx").toString(), "--quiet", "--report", in[0].toString());
    }

    @Test
    void reportNamingTheInputsDataFile() throws IOException {
        Path[] in = external();
        refused(in, in[0].toString(), dir.resolve("out.onnx").toString(), "--quiet", "--report", in[1].toString());
    }

    @Test
    void outputNamedLikeTheInputsDataFile() throws IOException {
        Path[] in = external();
        refused(in, in[0].toString(), in[1].toString(), "--quiet");
    }

    @Test
    void outputWhoseDataFileIsTheInput() throws IOException {
        Path model = TinyModels.withExternalWeight(dir, "w.bin", 1024);
        Path in = Files.move(model, dir.resolve("q.onnx.data"));
        refused(new Path[] {in, dir.resolve("w.bin")}, in.toString(), dir.resolve("q.onnx").toString(), "--quiet", "--external-data");
    }

    @Test
    void outputThroughASymlinkToTheDataFile() throws IOException {
        Path[] in = external();
        Path link = Files.createSymbolicLink(dir.resolve("link.onnx"), in[1]);
        refused(in, in[0].toString(), link.toString(), "--quiet");
    }

    @Test
    void amplifyReportNamingTheInput() throws IOException {
        Path[] in = external();
        refused(in, "amplify", in[0].toString(), dir.resolve("out.onnx").toString(), "--factor", "2", "--report", in[0].toString());
    }

    @Test
    void probeHtmlNamingTheInput() throws IOException {
        Path[] in = external();
        refused(in, "probe", in[0].toString(), "--html", in[0].toString());
    }

    @Test
    void importOutputOverTheCheckpoint() throws IOException {
        Path ckpt = Files.write(dir.resolve("model.bin"), new byte[64]);
        refused(new Path[] {ckpt}, "import-llama2c", ckpt.toString(), ckpt.toString());
    }
}
