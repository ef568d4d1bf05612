package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.samples.DataDir;
import io.onnxslanc.samples.SampleModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of the main command on real models (stories260K imported from ../shared/data when present, and
 * MiniLM): bit flips, truncation, dims, data types, external-data locations (leaving the folder, symbolic links,
 * FIFOs, folders, bad offsets), duplicate names, cycles, a 10,000-node chain and deep subgraph nesting. For every
 * case: exit 0 with an output ONNX Runtime loads (or, if ONNX Runtime rejects the mutated input too, an output it
 * rejects the same way), or exit 1 with one `error:` line; never a stack trace, an internal error or a stack
 * overflow; nothing written outside the case's output folder; no byte of the sentinel file beside the model's
 * folder in any output.
 */
class FuzzTest {
    private static final long SEED = 20261205L;

    @TempDir
    Path root;

    private final Random random = new Random(SEED);
    private final byte[] sentinel = sentinelBytes();
    private int cases;
    private int cleanErrors;
    private int validOutputs;
    private int passedThrough;

    private static byte[] sentinelBytes() {
        byte[] b = new byte[1 << 20];
        byte[] unit = "SENTINEL-OUTSIDE-THE-MODEL-FOLDER:".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < b.length; i++) {
            b[i] = unit[i % unit.length];
        }
        return b;
    }

    /** Writes the mutated model into {@code modelDir} (the sentinel lies at {@code secret}) and returns its path. */
    @FunctionalInterface
    interface Setup {
        Path write(Path modelDir, Path secret) throws IOException;
    }

    @Test
    void mutatedModelsFailCleanlyOrGiveModelsOnnxRuntimeLoads() throws Exception {
        Path base = Files.createDirectories(root.resolve("base"));
        List<byte[]> inlineModels = new ArrayList<>();
        Path storiesExternal = null;
        if (Files.exists(DataDir.root().resolve("stories260K/stories260K.bin"))) {
            Path stories = base.resolve("stories.onnx");
            assertEquals(0, CliRunner.run("import-llama2c", io.onnxslanc.testing.SharedData.stories260K().toString(), stories.toString()).exitCode());
            inlineModels.add(Files.readAllBytes(stories));
            Path ext = Files.createDirectories(base.resolve("ext"));
            storiesExternal = ext.resolve("stories.onnx");
            assertEquals(0, CliRunner.run("import-llama2c", io.onnxslanc.testing.SharedData.stories260K().toString(), storiesExternal.toString(),
                    "--external-data").exitCode());
        }
        byte[] miniLm = Files.readAllBytes(SampleModels.MINILM.model());
        byte[] small = inlineModels.isEmpty() ? miniLm : inlineModels.get(0);

        for (int i = 0; i < 16; i++) {
            byte[] m = small.clone();
            int flips = 1 + random.nextInt(8);
            for (int f = 0; f < flips; f++) {
                int at = random.nextInt(m.length);
                m[at] ^= (byte) (1 << random.nextInt(8));
            }
            run("bit flips x" + flips, bytes(m));
        }
        for (int i = 0; i < 8; i++) {
            run("truncation", bytes(java.util.Arrays.copyOf(small, random.nextInt(small.length))));
        }
        for (int i = 0; i < 2; i++) {
            byte[] m = miniLm.clone();
            m[random.nextInt(m.length)] ^= (byte) (1 << random.nextInt(8));
            run("MiniLM bit flip", bytes(m));
        }
        ModelProto proto = ModelProto.parseFrom(small);
        long[][] badDims = {{-1}, {1L << 40}, {1L << 32, 1L << 32}, {Long.MAX_VALUE, 2}, {0}, {}, {3, 5}, {-7, -9}};
        for (long[] dims : badDims) {
            run("dims " + java.util.Arrays.toString(dims), proto(withInitializer(proto, t -> {
                TensorProto.Builder b = t.toBuilder().clearDims();
                for (long d : dims) {
                    b.addDims(d);
                }
                return b.build();
            })));
        }
        for (int type : new int[] {0, 8, 10, 16, 7, 99}) {
            run("data type " + type, proto(withInitializer(proto, t -> t.toBuilder().setDataType(type).build())));
        }
        run("MiniLM dims", proto(withInitializer(ModelProto.parseFrom(miniLm), t -> t.toBuilder().addDims(3).build())));
        duplicateNames(proto);
        cycles(proto);
        run("unknown op type", proto(withNode(proto, n -> n.toBuilder().setOpType("NoSuchOp").build())));
        run("chain of 10,000 nodes", proto(chain(10_000)));
        run("subgraphs nested 300 deep", proto(nested(300)));
        if (storiesExternal != null) {
            externalLocations(storiesExternal);
        }
        System.out.printf("fuzz: %d cases (seed %d): %d clean errors, %d valid outputs ONNX Runtime loads, "
                + "%d outputs of inputs ONNX Runtime rejects too%n", cases, SEED, cleanErrors, validOutputs, passedThrough);
        assertEquals(cases, cleanErrors + validOutputs + passedThrough);
    }

    private void duplicateNames(ModelProto proto) throws IOException {
        GraphProto g = proto.getGraph();
        NodeProto first = g.getNode(1);
        run("two producers of one value", proto(proto.toBuilder().setGraph(g.toBuilder()
                .addNode(first.toBuilder().setName("dup")).build()).build()));
        run("two initializers of one name", proto(proto.toBuilder().setGraph(g.toBuilder()
                .addInitializer(g.getInitializer(0))).build()));
        run("two inputs of one name", proto(proto.toBuilder().setGraph(g.toBuilder().addInput(g.getInput(0))).build()));
        run("node output named like an initializer", proto(proto.toBuilder().setGraph(g.toBuilder()
                .setNode(2, g.getNode(2).toBuilder().setOutput(0, g.getInitializer(0).getName()))).build()));
    }

    private void cycles(ModelProto proto) throws IOException {
        GraphProto g = proto.getGraph();
        for (int i = 0; i < 4; i++) {
            int a = 1 + random.nextInt(g.getNodeCount() - 1);
            int b = a + random.nextInt(g.getNodeCount() - a);
            NodeProto n = g.getNode(a);
            if (n.getInputCount() == 0 || g.getNode(b).getOutputCount() == 0) {
                continue;
            }
            run("cycle " + a + " <- " + b, proto(proto.toBuilder().setGraph(g.toBuilder()
                    .setNode(a, n.toBuilder().setInput(0, g.getNode(b).getOutput(0)))).build()));
        }
    }

    private void externalLocations(Path model) throws IOException {
        ModelProto proto = io.onnxslanc.io.ModelReader.readProto(model);
        byte[] data = Files.readAllBytes(model.resolveSibling(model.getFileName() + ".data"));
        String dataName = model.getFileName() + ".data";
        Map<String, Setup> cases = new java.util.LinkedHashMap<>();
        cases.put("location ../secret.bin", (dir, secret) -> location(dir, proto, data, dataName, "../secret.bin"));
        cases.put("absolute location", (dir, secret) -> location(dir, proto, data, dataName, secret.toString()));
        cases.put("symlink to a file outside", (dir, secret) -> {
            Files.createSymbolicLink(dir.resolve("link.bin"), secret);
            return location(dir, proto, data, dataName, "link.bin");
        });
        cases.put("file in a symlinked folder outside", (dir, secret) -> {
            Files.createSymbolicLink(dir.resolve("sub"), secret.getParent());
            return location(dir, proto, data, dataName, "sub/secret.bin");
        });
        cases.put("data file itself a symlink outside", (dir, secret) -> {
            Path m = location(dir, proto, data, dataName, dataName);
            Files.delete(dir.resolve(dataName));
            Files.write(secret, data, java.nio.file.StandardOpenOption.APPEND);
            Files.createSymbolicLink(dir.resolve(dataName), secret);
            return m;
        });
        cases.put("FIFO", (dir, secret) -> {
            try {
                assertEquals(0, new ProcessBuilder("mkfifo", dir.resolve("pipe").toString()).start().waitFor());
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return location(dir, proto, data, dataName, "pipe");
        });
        cases.put("folder", (dir, secret) -> {
            Files.createDirectories(dir.resolve("d"));
            return location(dir, proto, data, dataName, "d");
        });
        cases.put("empty location", (dir, secret) -> location(dir, proto, data, dataName, ""));
        cases.put("missing file", (dir, secret) -> location(dir, proto, data, dataName, "nope.bin"));
        cases.put("data file shortened", (dir, secret) -> {
            Path m = location(dir, proto, data, dataName, dataName);
            Files.write(dir.resolve(dataName), java.util.Arrays.copyOf(data, data.length / 2));
            return m;
        });
        for (String[] kv : new String[][] {{"offset", "-4096"}, {"offset", "9223372036854775807"}, {"length", "16"},
                {"length", "-1"}, {"offset", "abc"}, {"length", "99999999999999999999"}}) {
            cases.put(kv[0] + " " + kv[1], (dir, secret) -> {
                Files.write(dir.resolve(dataName), data);
                return write(dir, withInitializer(proto, t -> external(t, kv[0], kv[1])));
            });
        }
        cases.put("untouched external model", (dir, secret) -> location(dir, proto, data, dataName, dataName));
        for (Map.Entry<String, Setup> e : cases.entrySet()) {
            run(e.getKey(), e.getValue());
        }
    }

    /** The model with every external tensor's location replaced, its data file copied beside it. */
    private static Path location(Path dir, ModelProto proto, byte[] data, String dataName, String location) throws IOException {
        Files.write(dir.resolve(dataName), data);
        GraphProto.Builder g = proto.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                g.setInitializer(i, external(t, "location", location));
            }
        }
        return write(dir, proto.toBuilder().setGraph(g).build());
    }

    private static TensorProto external(TensorProto t, String key, String value) {
        if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
            return t;
        }
        TensorProto.Builder b = t.toBuilder().clearExternalData();
        for (StringStringEntryProto e : t.getExternalDataList()) {
            b.addExternalData(e.getKey().equals(key) ? e.toBuilder().setValue(value).build() : e);
        }
        return b.build();
    }

    private ModelProto withInitializer(ModelProto proto, java.util.function.UnaryOperator<TensorProto> change) {
        GraphProto.Builder g = proto.getGraph().toBuilder();
        int i = random.nextInt(g.getInitializerCount());
        if (change.apply(g.getInitializer(i)) == g.getInitializer(i)) { // not external: take the largest one
            for (int k = 0; k < g.getInitializerCount(); k++) {
                if (change.apply(g.getInitializer(k)) != g.getInitializer(k)) {
                    i = k;
                    break;
                }
            }
        }
        g.setInitializer(i, change.apply(g.getInitializer(i)));
        return proto.toBuilder().setGraph(g).build();
    }

    private ModelProto withNode(ModelProto proto, java.util.function.UnaryOperator<NodeProto> change) {
        GraphProto.Builder g = proto.getGraph().toBuilder();
        int i = random.nextInt(g.getNodeCount());
        g.setNode(i, change.apply(g.getNode(i)));
        return proto.toBuilder().setGraph(g).build();
    }

    /** SYNTHETIC: x -> Relu -> Relu -> ... (n nodes). */
    private static ModelProto chain(int n) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("synthetic-chain");
        String x = "x";
        for (int i = 0; i < n; i++) {
            g.addNode(TinyModels.node(i % 2 == 0 ? "Relu" : "Neg", "n" + i, new String[] {x}, "t" + i));
            x = "t" + i;
        }
        return TinyModels.model(g.addInput(TinyModels.floatInfo("x", 4)).addOutput(TinyModels.floatInfo(x, 4)).build());
    }

    /** SYNTHETIC: an If whose branch holds an If whose branch ... {@code depth} levels. */
    private static ModelProto nested(int depth) {
        GraphProto inner = GraphProto.newBuilder().setName("leaf")
                .addNode(TinyModels.node("Identity", "id", new String[] {"x"}, "y0")).addOutput(TinyModels.floatInfo("y0", 4)).build();
        for (int d = 1; d <= depth; d++) {
            AttributeProto then = AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH).setG(inner).build();
            AttributeProto otherwise = then.toBuilder().setName("else_branch").setG(leafBranch()).build();
            inner = GraphProto.newBuilder().setName("g" + d)
                    .addNode(TinyModels.node("If", "if" + d, new String[] {"c"}, "y" + d).toBuilder().addAttribute(then).addAttribute(otherwise))
                    .addOutput(TinyModels.floatInfo("y" + d, 4)).build();
        }
        GraphProto top = inner.toBuilder().addInput(TinyModels.floatInfo("x", 4))
                .addInput(io.onnxslanc.proto.Onnx.ValueInfoProto.newBuilder().setName("c").setType(
                        io.onnxslanc.proto.Onnx.TypeProto.newBuilder().setTensorType(io.onnxslanc.proto.Onnx.TypeProto.Tensor.newBuilder().setElemType(9))))
                .build();
        return TinyModels.model(top);
    }

    private static GraphProto leafBranch() {
        return GraphProto.newBuilder().setName("else")
                .addNode(TinyModels.node("Identity", "id", new String[] {"x"}, "e")).addOutput(TinyModels.floatInfo("e", 4)).build();
    }

    private static Setup bytes(byte[] model) {
        return (dir, secret) -> Files.write(dir.resolve("model.onnx"), model);
    }

    private static Setup proto(ModelProto model) {
        return (dir, secret) -> write(dir, model);
    }

    private static Path write(Path dir, ModelProto model) throws IOException {
        return Files.write(dir.resolve("model.onnx"), model.toByteArray());
    }

    private void run(String what, Setup setup) throws IOException {
        int id = cases++;
        Path caseDir = Files.createDirectories(root.resolve("case" + id));
        Path modelDir = Files.createDirectories(caseDir.resolve("model"));
        Path outDir = Files.createDirectories(caseDir.resolve("out"));
        Path secret = Files.write(caseDir.resolve("secret.bin"), sentinel);
        Path model = setup.write(modelDir, secret);
        Map<Path, String> before = snapshot(root, outDir);
        Path out = outDir.resolve("out.onnx");
        long t0 = System.nanoTime();
        CliRunner r = CliRunner.run(model.toString(), out.toString(), "--quiet");
        System.out.printf("fuzz case %d %s: exit %d, %d ms%n", id, what, r.exitCode(), (System.nanoTime() - t0) / 1_000_000);
        String label = "case " + id + " (" + what + "): exit " + r.exitCode() + ", " + r.err();
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception in thread"), label);
        assertFalse(r.err().contains("internal error") || r.err().contains("stack overflow"), label);
        assertEquals(before, snapshot(root, outDir), "nothing outside the output folder changes: " + label);
        if (r.exitCode() == 1) {
            assertTrue(r.err().startsWith("error: ") && r.err().strip().lines().count() <= 2, label);
            try (Stream<Path> s = Files.list(outDir)) {
                assertEquals(List.of(), s.toList(), "no output left by a failure: " + label);
            }
            cleanErrors++;
            return;
        }
        assertEquals(0, r.exitCode(), label);
        try (Stream<Path> s = Files.list(outDir)) {
            for (Path p : s.toList()) {
                assertFalse(contains(Files.readAllBytes(p), sentinel), "sentinel bytes in " + p.getFileName() + ": " + label);
            }
        }
        String why = ortRejects(out);
        if (why == null) {
            validOutputs++;
        } else if (ortRejects(model) != null) {
            passedThrough++; // the mutation broke the model for ONNX Runtime too; we carried it through unchanged
        } else {
            fail("ONNX Runtime loads the input but not the output: " + why + "; " + label);
        }
    }

    private static String ortRejects(Path model) {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OrtSession s = OrtEnvironment.getEnvironment().createSession(model.toString(), o)) {
            return null;
        } catch (OrtException | RuntimeException e) {
            return e.getMessage();
        }
    }

    /** Every regular file and link under {@code dir} except {@code skip}, with size and modification time. */
    private static Map<Path, String> snapshot(Path dir, Path skip) throws IOException {
        Map<Path, String> m = new HashMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(p -> !p.startsWith(skip)).toList()) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    m.put(p, Files.size(p) + "@" + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis());
                } else if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    m.put(p, "special");
                }
            }
        }
        return m;
    }

    private static boolean contains(byte[] haystack, byte[] sentinel) {
        String h = new String(haystack, StandardCharsets.ISO_8859_1);
        return h.contains(new String(sentinel, 0, 64, StandardCharsets.ISO_8859_1));
    }
}
