package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.proto.Onnx.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code check} on models that take only some shapes (issue 16): the default shapes, --dim and --input-shape, the
 * error that names the reference's failure and the shapes used, and --inputs on ONNX's own conformance data.
 */
class InputOptionsCommandTest {
    @TempDir
    Path dir;

    /** FP16 candidate with FP32 inputs/outputs, written by the main command in the flags-first spelling. */
    private Path fp16(Path in) {
        Path out = dir.resolve("fp16-" + in.getFileName());
        CliRunner r = CliRunner.run("--keep-io-types", "--no-slanc", "-q", in.toString(), out.toString());
        assertEquals(0, r.exitCode(), r.err());
        return out;
    }

    private static void assertOneLineError(CliRunner r, String... fragments) {
        assertEquals(1, r.exitCode(), r.out() + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("error: "), err);
        for (String f : fragments) {
            assertTrue(err.contains(f), "'" + err + "' should contain '" + f + "'");
        }
    }

    @Test
    void batchDimDefaultsToOneAndAWrongBatchIsBlamedOnTheReferenceWithTheShapes() throws Exception {
        Path ref = InputShapeModels.batchMustBeOne(dir);
        Path cand = fp16(ref);
        CliRunner ok = CliRunner.run("check", "--samples", "2", ref.toString(), cand.toString());
        assertEquals(0, ok.exitCode(), ok.err());
        assertTrue(ok.out().contains("[1,201,320]"), ok.out());

        CliRunner bad = CliRunner.run("check", "--dim", "N=2", "--samples", "2", ref.toString(), cand.toString());
        assertOneLineError(bad, ref.toString(), "the reference model itself fails on the generated inputs", "x [2,200,320] float",
                "N=2", "--input-shape NAME=d1,d2,...", "--dim SYMBOL=value");

        CliRunner shaped = CliRunner.run("check", "--input-shape", "x=1,200,320", "--samples", "1", ref.toString(), cand.toString());
        assertEquals(0, shaped.exitCode(), shaped.err());
    }

    @Test
    void aSequenceDimTheModelFixesIsChosenWithDimOrInputShape() throws Exception {
        Path ref = InputShapeModels.sequenceMustBeTwenty(dir);
        Path cand = fp16(ref);
        CliRunner defaults = CliRunner.run("check", ref.toString(), cand.toString(), "--samples", "1");
        assertOneLineError(defaults, "the reference model itself fails", "x [1,64,8] float", "T=64", "--dim SYMBOL=value");
        CliRunner dim = CliRunner.run("check", "--dim", "T=20", "--samples", "1", ref.toString(), cand.toString());
        assertEquals(0, dim.exitCode(), dim.err());
        CliRunner shape = CliRunner.run("check", ref.toString(), cand.toString(), "--input-shape", "x=1,20,8", "--samples", "1");
        assertEquals(0, shape.exitCode(), shape.err());
        assertEquals(dim.out(), shape.out(), "same shapes, same seed: same report");
        CliRunner unknown = CliRunner.run("check", "--dim", "S=20", ref.toString(), cand.toString());
        assertOneLineError(unknown, "--dim S: the model has no symbolic dimension 'S' (symbols: T)");
    }

    /** --inputs with ONNX's own test data: the .pb folder and the same tensors as .npy files give the same report. */
    @Test
    void checkOnRealInputsFromOnnxTestDataAndFromNpyFiles() throws Exception {
        Path test = OnnxTestDataDir.nodeTest("test_layer_normalization_4d_axis_negative_1");
        Path ref = dir.resolve("ln.onnx");
        Files.copy(test.resolve("model.onnx"), ref);
        Path cand = fp16(ref);
        CliRunner pb = CliRunner.run("check", "--inputs", test.toString(), ref.toString(), cand.toString());
        assertEquals(0, pb.exitCode(), pb.err());
        assertTrue(pb.out().contains("1 sample(s)"), pb.out());

        Path npyDir = dir.resolve("npy").resolve("sample_0");
        Files.createDirectories(npyDir);
        String[] names = {"X", "W", "B"};
        for (int i = 0; i < 3; i++) {
            TensorProto t = TensorProto.parseFrom(Files.readAllBytes(test.resolve("test_data_set_0/input_" + i + ".pb")));
            Files.write(npyDir.resolve(names[i] + ".npy"), npyFloat32(t));
        }
        CliRunner npy = CliRunner.run("check", ref.toString(), cand.toString(), "--inputs", npyDir.getParent().toString());
        assertEquals(0, npy.exitCode(), npy.err());
        assertEquals(withoutPaths(pb.out()), withoutPaths(npy.out()), "same tensors, same parity");
    }

    @Test
    void inputsFolderWithoutATensorForAnInputIsAOneLineError() throws Exception {
        Path ref = InputShapeModels.batchMustBeOne(dir);
        Path cand = fp16(ref);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertOneLineError(CliRunner.run("check", "--inputs", empty.toString(), ref.toString(), cand.toString()),
                empty.toString(), "holds no input tensors");
    }

    private static String withoutPaths(String report) {
        return Stream.of(report.split("\n")).filter(l -> !l.startsWith("reference:") && !l.startsWith("candidate:")).toList().toString();
    }

    /** A float32 TensorProto (raw data) as a version 1.0 .npy file. */
    static byte[] npyFloat32(TensorProto t) {
        List<String> dims = new ArrayList<>();
        t.getDimsList().forEach(d -> dims.add(Long.toString(d)));
        String shape = "(" + String.join(", ", dims) + (dims.size() == 1 ? ",)" : ")");
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
        int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
        byte[] header = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] data = t.getRawData().toByteArray();
        ByteBuffer b = ByteBuffer.allocate(10 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length).put(header).put(data);
        return b.array();
    }
}
