package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * stories260K as a merged decoder (Optimum's layout), run in ONNX Runtime against the plain
 * imported model (input_ids -> logits, no cache) on the same tokens: both branches of the If.
 */
class MergedDecoderTest {

    static int[] tokens;
    static LlamaConfig config;

    @BeforeAll
    static void load() throws IOException {
        ReferenceLlama reference = ReferenceLlama.fromLlama2c(TestData.stories260K());
        tokens = Arrays.copyOf(Llama2cVocab.read(TestData.tok512(), reference.vocab)
                .encode(Llama2cImporterTest.textPrefix(600)), 40);
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(TestData.stories260K())) {
            config = ckpt.config();
        }
    }

    @Test
    void weightsAreStoredOnceInTheOuterGraphAndBothBranchesReadThem() throws Exception {
        ModelProto plain = Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults());
        ModelProto merged = Llama2cImporter.importMergedDecoder(TestData.stories260K(), ImportOptions.defaults());
        GraphProto outer = merged.getGraph();

        assertEquals(1, outer.getNodeCount());
        NodeProto ifNode = outer.getNode(0);
        assertEquals("If", ifNode.getOpType());
        assertEquals(List.of(MergedDecoderBuilder.USE_CACHE_BRANCH), ifNode.getInputList());
        assertEquals(TensorProto.DataType.BOOL_VALUE, input(outer, MergedDecoderBuilder.USE_CACHE_BRANCH).getType().getTensorType().getElemType());

        List<String> expectedOutputs = new ArrayList<>(List.of("logits"));
        for (int l = 0; l < config.nLayers(); l++) {
            expectedOutputs.add("present." + l + ".key");
            expectedOutputs.add("present." + l + ".value");
            assertTrue(hasInput(outer, "past_key_values." + l + ".key") && hasInput(outer, "past_key_values." + l + ".value"));
        }
        assertTrue(hasInput(outer, "input_ids"));
        assertEquals(expectedOutputs, outer.getOutputList().stream().map(ValueInfoProto::getName).toList());
        assertEquals(expectedOutputs, ifNode.getOutputList());

        // the outer initializers are exactly the plain model's, byte for byte, each once
        assertEquals(initializers(plain.getGraph()), initializers(outer));
        for (String branch : List.of("then_branch", "else_branch")) {
            GraphProto g = branchGraph(ifNode, branch);
            assertEquals(0, g.getInitializerCount(), branch + " holds initializers of its own");
            assertEquals(0, g.getInputCount(), branch + " declares inputs");
            assertEquals(expectedOutputs, g.getOutputList().stream().map(ValueInfoProto::getName).toList());
            long readsOuterWeights = g.getNodeList().stream().flatMap(n -> n.getInputList().stream())
                    .filter(initializers(outer)::containsKey).distinct().count();
            assertEquals(outer.getInitializerCount(), readsOuterWeights, branch + " does not read every shared weight");
        }
    }

    /**
     * use_cache_branch false with an empty past: the logits of the plain model bit for bit (the
     * else-branch is the plain graph plus Identity nodes for present.*). Then use_cache_branch true,
     * fed that call's present: the logits of the plain model on the whole sequence at the new
     * positions (within 1e-5 of the largest logit: attention over a concatenated cache sums in
     * another order than over the full sequence).
     */
    @ParameterizedTest
    @EnumSource(value = NormStyle.class, names = {"DECOMPOSED", "FUSED"})
    void bothBranchesGiveThePlainModelsLogits(NormStyle style) throws Exception {
        ImportOptions opts = ImportOptions.defaults().withNormStyle(style);
        ModelProto plain = Llama2cImporter.importCheckpoint(TestData.stories260K(), opts);
        ModelProto merged = Llama2cImporter.importMergedDecoder(TestData.stories260K(), opts);
        int prefix = 30;
        for (OptLevel level : List.of(OptLevel.NO_OPT, OptLevel.ALL_OPT)) {
            float[][] full, firstCall, cached;
            Map<String, float[]> present;
            try (OrtLlama ort = OrtLlama.of(plain, level)) {
                full = ort.logits(tokens);
            }
            try (OrtLlama ort = OrtLlama.of(merged, level)) {
                Step first = step(ort.session, Arrays.copyOf(tokens, prefix), Map.of(), 0, false);
                firstCall = first.logits;
                present = first.present;
                Step noCacheFull = step(ort.session, tokens, Map.of(), 0, false);
                for (int p = 0; p < tokens.length; p++) {
                    assertArrayEquals(full[p], noCacheFull.logits[p], style + " " + level + ": no-cache branch, position " + p);
                }
                cached = step(ort.session, Arrays.copyOfRange(tokens, prefix, tokens.length), present, prefix, true).logits;
            }
            try (OrtLlama ort = OrtLlama.of(plain, level)) {
                float[][] prefixOnly = ort.logits(Arrays.copyOf(tokens, prefix));
                for (int p = 0; p < prefix; p++) {
                    assertArrayEquals(prefixOnly[p], firstCall[p], style + " " + level + ": no-cache branch, prefix position " + p);
                }
            }
            double maxDiff = 0, maxRef = 0;
            for (int p = prefix; p < tokens.length; p++) {
                for (int v = 0; v < full[p].length; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(cached[p - prefix][v] - full[p][v]));
                    maxRef = Math.max(maxRef, Math.abs(full[p][v]));
                }
            }
            System.out.printf("stories260K merged %s %s: cache branch vs plain full sequence, max |diff| / max |logit| = %.2e%n",
                    style, level, maxDiff / maxRef);
            assertTrue(maxDiff / maxRef <= 1e-5, style + " " + level + ": cache branch relative difference " + maxDiff / maxRef);
        }
    }

    @Test
    void writesWithExternalDataStoringEachWeightOnce(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("merged.onnx");
        Llama2cImporter.importMergedDecoder(TestData.stories260K(), ImportOptions.defaults(), out, true);
        Path plainOut = dir.resolve("plain.onnx");
        Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults(), plainOut, true);
        assertEquals(java.nio.file.Files.size(dir.resolve("plain.onnx.data")), java.nio.file.Files.size(dir.resolve("merged.onnx.data")));
        try (OrtLlama plain = OrtLlama.of(plainOut); OrtLlama merged = OrtLlama.of(out)) {
            float[][] expected = plain.logits(tokens);
            float[][] got = step(merged.session, tokens, Map.of(), 0, false).logits;
            for (int p = 0; p < tokens.length; p++) assertArrayEquals(expected[p], got[p], "position " + p);
        }
    }

    record Step(float[][] logits, Map<String, float[]> present) {}

    /** One run of the merged decoder on batch 1: the past (empty when pastLen is 0) and the branch flag. */
    private static Step step(OrtSession session, int[] ids, Map<String, float[]> past, int pastLen, boolean useCache) throws OrtException {
        int kv = config.nKvHeads(), hs = config.headSize();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put("input_ids", OnnxTensor.createTensor(OrtLlama.ENV,
                    LongBuffer.wrap(Arrays.stream(ids).asLongStream().toArray()), new long[] {1, ids.length}));
            feeds.put(MergedDecoderBuilder.USE_CACHE_BRANCH, OnnxTensor.createTensor(OrtLlama.ENV, new boolean[] {useCache}));
            for (int l = 0; l < config.nLayers(); l++) {
                for (String kind : List.of("key", "value")) {
                    float[] data = past.getOrDefault("present." + l + "." + kind, new float[0]);
                    feeds.put("past_key_values." + l + "." + kind, OnnxTensor.createTensor(OrtLlama.ENV, FloatBuffer.wrap(data),
                            new long[] {1, kv, pastLen, hs}));
                }
            }
            try (OrtSession.Result r = session.run(feeds)) {
                float[][] logits = ((float[][][]) r.get("logits").get().getValue())[0];
                Map<String, float[]> present = new HashMap<>();
                for (int l = 0; l < config.nLayers(); l++) {
                    for (String kind : List.of("key", "value")) {
                        OnnxTensor t = (OnnxTensor) r.get("present." + l + "." + kind).get();
                        assertArrayEquals(new long[] {1, kv, pastLen + ids.length, hs}, t.getInfo().getShape());
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] copy = new float[fb.remaining()];
                        fb.get(copy);
                        present.put("present." + l + "." + kind, copy);
                    }
                }
                return new Step(logits, present);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static Map<String, TensorProto> initializers(GraphProto g) {
        Map<String, TensorProto> m = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            assertTrue(m.put(t.getName(), t) == null, "initializer " + t.getName() + " stored twice");
        }
        return m;
    }

    private static GraphProto branchGraph(NodeProto ifNode, String name) {
        return ifNode.getAttributeList().stream().filter(a -> a.getName().equals(name)).map(AttributeProto::getG)
                .findFirst().orElseThrow();
    }

    private static ValueInfoProto input(GraphProto g, String name) {
        return g.getInputList().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
    }

    private static boolean hasInput(GraphProto g, String name) {
        return g.getInputList().stream().anyMatch(v -> v.getName().equals(name));
    }
}
