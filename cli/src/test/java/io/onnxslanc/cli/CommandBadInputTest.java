package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.testing.SharedData;
import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.llama.SynthConfig;
import io.onnxslanc.samples.llama.SyntheticLlama;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad inputs to every command (issue 5): a clear one-line {@code error: ...} naming the file and the problem, exit
 * code 1, and no output file; and the two inputs that are not errors (a model without norms, a norm in front of an
 * unrecognised block) finish with exit code 0 and say what they left alone.
 */
class CommandBadInputTest {
    @TempDir
    Path dir;

    /** Exit code 1, one line {@code error: ...} holding every fragment, none of {@code absent} written. */
    private static void assertError(CliRunner r, List<String> fragments, Path... absent) throws IOException {
        assertEquals(1, r.exitCode(), "exit code; stderr: " + r.err());
        String err = r.err().strip();
        System.out.println(err);
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.startsWith("error: "), err);
        for (String f : fragments) {
            assertTrue(err.contains(f), "message '" + err + "' should mention '" + f + "'");
        }
        for (Path p : absent) {
            assertFalse(Files.exists(p), "no output: " + p);
            try (Stream<Path> s = Files.list(p.toAbsolutePath().getParent())) {
                String name = p.getFileName().toString();
                assertTrue(s.noneMatch(q -> q.getFileName().toString().contains(name) && !q.equals(p)), "no temporary files of " + p);
            }
        }
    }

    // ---- the main command: calibrate + convert --------------------------------------------------------------

    @Test
    void modelWithoutNormsIsWrittenUnchangedWithAWarning() throws Exception {
        Path in = TinyModels.withoutNorms(dir);
        Path out = dir.resolve("out.onnx");
        CliRunner r = CliRunner.run(in.toString(), out.toString(), "--no-fp16", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue((r.out() + r.err()).contains("warning: no LayerNorm / RMSNorm found"), r.out() + r.err());
        GraphProto before = ModelProto.parseFrom(Files.readAllBytes(in)).getGraph();
        GraphProto after = ModelProto.parseFrom(Files.readAllBytes(out)).getGraph();
        assertEquals(before.getNodeList(), after.getNodeList(), "same nodes");
        assertEquals(before.getInitializerList(), after.getInitializerList(), "same weights");
        float[] x = new float[16];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i);
        }
        assertArrayEquals(run(in, x), run(out, x), "same outputs in ONNX Runtime");
    }

    private static float[] run(Path model, float[] x) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions());
             OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 8});
             OrtSession.Result res = s.run(Map.of("x", t))) {
            FloatBuffer fb = ((OnnxTensor) res.get(0)).getFloatBuffer();
            float[] y = new float[fb.remaining()];
            fb.get(y);
            return y;
        }
    }

    @Test
    void nanInABlockWeightStopsBeforeWriting() throws IOException {
        ModelProto m = SyntheticLlama.build(SynthConfig.preset("tiny"));
        GraphProto.Builder g = m.getGraph().toBuilder();
        String weight = "layers.1.attention.wv.weight";
        boolean found = false;
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getName().equals(weight)) {
                ByteBuffer b = ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
                b.putFloat(4 * 17, Float.NaN);
                g.setInitializer(i, t.toBuilder().setRawData(ByteString.copyFrom(b.array())));
                found = true;
            }
        }
        assertTrue(found, weight);
        Path in = dir.resolve("nan.onnx");
        Files.write(in, m.toBuilder().setGraph(g).build().toByteArray());
        Path out = dir.resolve("out.onnx");
        assertError(CliRunner.run(in.toString(), out.toString(), "--quiet"), List.of(in.toString(), weight, "NaN"), out);
    }

    @Test
    void unrecognisedBlockIsReportedWithItsReasonAndLeftUnscaled() throws IOException {
        Path in = TinyModels.unrecognisedBlock(dir);
        Path out = dir.resolve("out.onnx");
        Path report = dir.resolve("report.json");
        CliRunner r = CliRunner.run(in.toString(), out.toString(), "--no-fp16", "--report", report.toString(), "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("not a residual Add"), r.out());
        assertTrue(r.out().contains("warning: 1 of 2 norms left unscaled"), r.out());
        JsonNode norms = new ObjectMapper().readTree(report.toFile()).path("norms");
        assertEquals(2, norms.size());
        assertEquals("first", norms.get(0).path("block").asText());
        JsonNode second = norms.get(1);
        assertEquals("ln2", second.path("name").asText());
        assertEquals("unknown", second.path("block").asText());
        assertTrue(second.path("scale").isNull(), "unscaled: " + second);
        assertTrue(second.path("reason").asText().contains("not a residual Add"), second.toString());
        ModelProto written = ModelProto.parseFrom(Files.readAllBytes(out));
        assertTrue(written.getGraph().getNodeList().stream().noneMatch(n -> n.getName().startsWith("slanc_scale_")),
                "no scaling Mul inserted");
        float epsilon = written.getGraph().getNodeList().stream().filter(n -> n.getName().equals("ln2")).findFirst()
                .orElseThrow().getAttributeList().stream().filter(a -> a.getName().equals("epsilon")).findFirst()
                .orElseThrow().getF();
        assertEquals(1e-5f, epsilon, "epsilon unchanged");
    }

    @Test
    void graphOutputTypeDisagreeingWithValueInfo() throws IOException {
        Path in = TinyModels.outputTypeDisagreesWithValueInfo(dir);
        Path out = dir.resolve("out.onnx");
        assertError(CliRunner.run(in.toString(), out.toString(), "--quiet"),
                List.of(in.toString(), "graph output 'y'", "FLOAT16", "value_info"), out);
    }

    @Test
    void unknownDataType() throws IOException {
        Path in = TinyModels.unknownDataType(dir);
        Path out = dir.resolve("out.onnx");
        assertError(CliRunner.run(in.toString(), out.toString(), "--quiet"), List.of(in.toString(), "'w'", "data type 99"), out);
    }

    @Test
    void nodeBlockListNamingAMissingNode() throws IOException {
        Path in = TinyModels.withoutNorms(dir);
        Path out = dir.resolve("out.onnx");
        assertError(CliRunner.run(in.toString(), out.toString(), "--node-block-list", "relu,no_such_node", "--quiet"),
                List.of(in.toString(), "no_such_node"), out);
    }

    // ---- perplexity -----------------------------------------------------------------------------------------

    private CliRunner perplexity(Path model, Path text, Path tokenizer, Path json) {
        return CliRunner.run("perplexity", model.toString(), "--text", text.toString(), "--tokenizer", tokenizer.toString(),
                "--window", "16", "--json", json.toString());
    }

    @Test
    void perplexityOfTextThatIsNotUtf8() throws IOException {
        Path model = TinyModels.tinyLm(dir, "lm.onnx", 512, null);
        Path text = dir.resolve("latin1.txt");
        Files.write(text, "Once upon a time, a caf\u00e9 ".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        Path json = dir.resolve("ppl.json");
        assertError(perplexity(model, text, SharedData.tok512(), json), List.of(text.toString(), "not valid UTF-8", "byte offset 23"), json);
    }

    @Test
    void perplexityOfEmptyText() throws IOException {
        Path model = TinyModels.tinyLm(dir, "lm.onnx", 512, null);
        Path text = dir.resolve("empty.txt");
        Files.write(text, new byte[0]);
        Path json = dir.resolve("ppl.json");
        assertError(perplexity(model, text, SharedData.tok512(), json), List.of(text.toString(), "empty"), json);
    }

    @Test
    void perplexityWithATokenizerTooLargeForTheModelsVocabulary() throws IOException {
        Path model = TinyModels.tinyLm(dir, "lm.onnx", 512, null);
        Path text = dir.resolve("story.txt");
        Files.writeString(text, "Once upon a time there was a little dog.\n");
        Path bert = SampleModels.MINILM.tokenizerJson(); // WordPiece ids up to 30521
        Path json = dir.resolve("ppl.json");
        assertError(perplexity(model, text, bert, json), List.of(bert.toString(), "vocabulary of 512"), json);
    }

    @Test
    void perplexityOfAModelWithAnInputItCannotFeed() throws IOException {
        Path model = TinyModels.tinyLm(dir, "vision-lm.onnx", 512, "pixel_values");
        Path text = dir.resolve("story.txt");
        Files.writeString(text, "Once upon a time there was a little dog.\n");
        Path json = dir.resolve("ppl.json");
        assertError(perplexity(model, text, SharedData.tok512(), json), List.of(model.toString(), "'pixel_values'", "cannot feed"), json);
    }

    // ---- check ------------------------------------------------------------------------------------------------

    @Test
    void checkOfModelsWithDifferentOutputs() throws IOException {
        Path ref = TinyModels.tinyLm(dir, "ref.onnx", 64, null);
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(ref));
        GraphProto.Builder g = m.getGraph().toBuilder();
        g.setNode(1, g.getNode(1).toBuilder().setOutput(0, "scores"));
        g.setOutput(0, g.getOutput(0).toBuilder().setName("scores"));
        Path cand = dir.resolve("cand.onnx");
        Files.write(cand, m.toBuilder().setGraph(g).build().toByteArray());
        Path json = dir.resolve("check.json");
        assertError(CliRunner.run("check", ref.toString(), cand.toString(), "--samples", "1", "--seq-len", "4",
                "--json", json.toString()), List.of(ref.toString(), cand.toString(), "different outputs", "logits", "scores"), json);
    }

    // ---- import-llama2c -------------------------------------------------------------------------------------

    @Test
    void importOfATruncatedCheckpoint() throws IOException {
        byte[] full = Files.readAllBytes(SharedData.stories260K());
        Path ckpt = dir.resolve("truncated.bin");
        Files.write(ckpt, Arrays.copyOf(full, full.length / 2));
        Path out = dir.resolve("model.onnx");
        assertError(CliRunner.run("import-llama2c", ckpt.toString(), out.toString()),
                List.of(ckpt.toString(), "truncated", "file has " + full.length / 2), out);
    }

    @Test
    void importOfACheckpointWhoseHeaderDisagreesWithItsSize() throws IOException {
        byte[] full = Files.readAllBytes(SharedData.stories260K());
        Path ckpt = dir.resolve("padded.bin");
        Files.write(ckpt, Arrays.copyOf(full, full.length + 64));
        Path out = dir.resolve("model.onnx");
        assertError(CliRunner.run("import-llama2c", ckpt.toString(), out.toString()),
                List.of(ckpt.toString(), "header", "disagrees with the file size"), out);
    }
}
