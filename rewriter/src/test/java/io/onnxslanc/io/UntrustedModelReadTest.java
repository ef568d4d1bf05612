package io.onnxslanc.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.Model;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model file is untrusted input: its external data may only come from regular files inside its folder (real
 * paths, symbolic links resolved), and its tensors' sizes are checked with exact arithmetic before anything is
 * mapped or allocated.
 */
class UntrustedModelReadTest {
    @TempDir
    Path root;

    private Path folder() throws IOException {
        return Files.createDirectories(root.resolve("model"));
    }

    private Path secret() throws IOException {
        return Files.write(root.resolve("secret.bin"), new byte[1024]);
    }

    private static StringStringEntryProto kv(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    static TensorProto external(String name, String location, long length, long... dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(1)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL).addExternalData(kv("location", location))
                .addExternalData(kv("offset", "0"));
        if (length >= 0) {
            b.addExternalData(kv("length", Long.toString(length)));
        }
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    private static ValueInfoProto info(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(1).setShape(TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(256))))).build();
    }

    /** y = x + w with initializer w. */
    private static Path withInitializer(Path dir, TensorProto w) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("g").addInitializer(w).addInput(info("x")).addOutput(info("y"))
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("x").addInput(w.getName()).addOutput("y")).build();
        return write(dir, g);
    }

    /** y = x + Constant(w). */
    private static Path withConstant(Path dir, TensorProto w) throws IOException {
        GraphProto g = GraphProto.newBuilder().setName("g").addInput(info("x")).addOutput(info("y"))
                .addNode(NodeProto.newBuilder().setOpType("Constant").addOutput("c").addAttribute(AttributeProto.newBuilder()
                        .setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(w)))
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("c").addOutput("y")).build();
        return write(dir, g);
    }

    /** An If whose then-branch holds w as an initializer. */
    private static Path withSubgraphInitializer(Path dir, TensorProto w) throws IOException {
        GraphProto branch = GraphProto.newBuilder().setName("b").addInitializer(w)
                .addNode(NodeProto.newBuilder().setOpType("Identity").addInput(w.getName()).addOutput("t"))
                .addOutput(info("t")).build();
        GraphProto g = GraphProto.newBuilder().setName("g").addInput(ValueInfoProto.newBuilder().setName("cond")
                        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(9))))
                .addOutput(info("y"))
                .addNode(NodeProto.newBuilder().setOpType("If").addInput("cond").addOutput("y")
                        .addAttribute(AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH).setG(branch))
                        .addAttribute(AttributeProto.newBuilder().setName("else_branch").setType(AttributeProto.AttributeType.GRAPH).setG(branch)))
                .build();
        return write(dir, g);
    }

    private static Path write(Path dir, GraphProto g) throws IOException {
        Path model = dir.resolve("model.onnx");
        Files.write(model, ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(17))
                .setGraph(g).build().toByteArray());
        return model;
    }

    private static String rejected(Path model, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelReader.read(model));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should say '" + f + "'");
        }
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void symlinkToAFileOutsideTheFolderIsRefused() throws IOException {
        Path dir = folder();
        Files.createSymbolicLink(dir.resolve("w.bin"), secret());
        rejected(withInitializer(dir, external("w", "w.bin", 1024, 256)), "outside the model's folder");
    }

    @Test
    void fileInsideASymlinkedSubfolderThatLeavesIsRefused() throws IOException {
        Path dir = folder();
        secret();
        Files.createSymbolicLink(dir.resolve("sub"), root);
        rejected(withInitializer(dir, external("w", "sub/secret.bin", 1024, 256)), "outside the model's folder");
    }

    @Test
    void constantNodeTensorsFollowTheSameRule() throws IOException {
        Path dir = folder();
        Files.createSymbolicLink(dir.resolve("w.bin"), secret());
        rejected(withConstant(dir, external("w", "w.bin", 1024, 256)), "outside the model's folder");
    }

    @Test
    void subgraphInitializersFollowTheSameRule() throws IOException {
        Path dir = folder();
        Files.createSymbolicLink(dir.resolve("w.bin"), secret());
        rejected(withSubgraphInitializer(dir, external("w", "w.bin", 1024, 256)), "outside the model's folder");
    }

    @Test
    void dotDotAndAbsoluteLocationsAreRefused() throws IOException {
        Path dir = folder();
        rejected(withInitializer(dir, external("w", "../secret.bin", 1024, 256)), "outside");
        rejected(withInitializer(dir, external("w", secret().toString(), 1024, 256)), "outside");
    }

    @Test
    void aFifoIsRefusedWithoutOpeningIt() throws Exception {
        Path dir = folder();
        Process mk = new ProcessBuilder("mkfifo", dir.resolve("pipe").toString()).start();
        assertEquals(0, mk.waitFor());
        Path model = withInitializer(dir, external("w", "pipe", 0, 0));
        // a guard against the hang this test is about, not a speed check
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> rejected(model, "not a regular file"));
    }

    @Test
    void aFolderIsRefused() throws IOException {
        Path dir = folder();
        Files.createDirectories(dir.resolve("d"));
        rejected(withInitializer(dir, external("w", "d", 0, 0)), "not a regular file");
    }

    @Test
    void aSymlinkThatStaysInsideIsFine() throws IOException {
        Path dir = folder();
        Files.write(dir.resolve("real.bin"), new byte[1024]);
        Files.createSymbolicLink(dir.resolve("w.bin"), dir.resolve("real.bin"));
        Model m = ModelReader.read(withInitializer(dir, external("w", "w.bin", 1024, 256)));
        assertEquals(1024, m.graph().initializers().get(0).constant().byteSize());
    }

    @Test
    void dimsWhoseProductOverflowsAreRefused() throws IOException {
        Path dir = folder();
        Files.write(dir.resolve("w.bin"), new byte[1024]);
        rejected(withInitializer(dir, external("w", "w.bin", -1, 1L << 32, 1L << 32)), "overflows");
        rejected(withInitializer(dir, TensorProto.newBuilder().setName("w").setDataType(1).addDims(1L << 32).addDims(1L << 32)
                .setRawData(ByteString.copyFrom(new byte[16])).build()), "overflows");
    }

    @Test
    void negativeDimsAreRefused() throws IOException {
        Path dir = folder();
        Files.write(dir.resolve("w.bin"), new byte[1024]);
        rejected(withInitializer(dir, external("w", "w.bin", -1, -256)), "negative");
        rejected(withInitializer(dir, TensorProto.newBuilder().setName("w").setDataType(1).addDims(-4).addDims(-1)
                .setRawData(ByteString.copyFrom(new byte[16])).build()), "negative");
    }

    @Test
    void twoToTheFortyElementsFailBeforeAnythingIsMapped() throws IOException {
        Path dir = folder();
        Files.write(dir.resolve("w.bin"), new byte[1024]);
        rejected(withInitializer(dir, external("w", "w.bin", -1, 1L << 20, 1L << 20)), "shorter");
    }

    @Test
    void anExternalLengthShorterThanTheDimsIsRefused() throws IOException {
        Path dir = folder();
        Files.write(dir.resolve("w.bin"), new byte[1024]);
        rejected(withInitializer(dir, external("w", "w.bin", 16, 256)), "length 16", "1024");
    }

    @Test
    void rawDataOfTheWrongSizeIsRefused() throws IOException {
        rejected(withInitializer(folder(), TensorProto.newBuilder().setName("w").setDataType(1).addDims(256)
                .setRawData(ByteString.copyFrom(new byte[16])).build()), "256 elements", "16 bytes");
    }

    @Test
    void undefinedDataTypeIsRefused() throws IOException {
        rejected(withInitializer(folder(), TensorProto.newBuilder().setName("w").setDataType(0).addDims(4)
                .setRawData(ByteString.copyFrom(new byte[16])).build()), "UNDEFINED");
    }

    @Test
    void controlCharactersInNamesArePrintedEscaped() throws IOException {
        Path dir = folder();
        String msg = rejected(withInitializer(dir, external("w\u001b[31m", "../x\ny", 16, 4)));
        assertTrue(msg.contains("\\x1b[31m") && msg.contains("x\\x0ay"), msg);
        assertTrue(msg.chars().noneMatch(c -> c < 0x20), msg);
    }
}
