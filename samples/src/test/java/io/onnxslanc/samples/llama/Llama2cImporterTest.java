package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** stories260K imported and run in ONNX Runtime, against an independent float64 llama2.c forward pass. */
class Llama2cImporterTest {

    static ReferenceLlama reference;
    static Llama2cVocab vocab;
    /** BOS + the start of tinystories-val.txt */
    static int[] valTokens;

    @BeforeAll
    static void load() throws IOException {
        reference = ReferenceLlama.fromLlama2c(TestData.stories260K());
        vocab = Llama2cVocab.read(TestData.tok512(), reference.vocab);
        valTokens = vocab.encode(textPrefix(3000));
    }

    /** The first chars of the validation text, cut at a line end so no word is split. */
    static String textPrefix(int chars) throws IOException {
        String text = Files.readString(TestData.tinyStoriesVal(), StandardCharsets.UTF_8);
        String prefix = text.substring(0, Math.min(chars, text.length()));
        return prefix.substring(0, prefix.lastIndexOf('\n') + 1);
    }

    @ParameterizedTest
    @EnumSource(NormStyle.class)
    void logitsMatchFloat64Reference(NormStyle style) throws Exception {
        ModelProto model = Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults().withNormStyle(style));
        int[] tokens = Arrays.copyOf(valTokens, 96);
        double[][] ref = reference.forward(tokens, 1e-5, 10000);
        for (OptLevel level : List.of(OptLevel.NO_OPT, OptLevel.ALL_OPT)) {
            try (OrtLlama ort = OrtLlama.of(model, level)) {
                double err = OrtLlama.relativeError(ort.logits(tokens), ref);
                System.out.printf("stories260K %s %s: max |ORT - float64 reference| / max |reference| = %.3g over %d positions%n",
                        style, level, err, tokens.length);
                assertTrue(err < 1e-4, style + " " + level + ": relative error " + err);
            }
        }
    }

    @Test
    void pastKeyValuesContinueTheSequence() throws Exception {
        ModelProto model = Llama2cImporter.importCheckpoint(TestData.stories260K(),
                ImportOptions.defaults().withNormStyle(NormStyle.FUSED).withPastKeyValues(true));
        int prefix = 20, steps = 4;
        int[] tokens = Arrays.copyOf(valTokens, prefix + steps);
        double[][] ref = reference.forward(tokens, 1e-5, 10000);
        int layers = reference.layers, kv = reference.kvHeads, hs = reference.dim / reference.heads;
        try (OrtLlama ort = OrtLlama.of(model, OptLevel.ALL_OPT)) {
            Map<String, float[]> past = new HashMap<>();
            int pastLen = 0;
            // first call with an empty cache over the prefix, then one token per call
            int[][] calls = new int[steps + 1][];
            calls[0] = Arrays.copyOf(tokens, prefix);
            for (int s = 0; s < steps; s++) calls[s + 1] = new int[] {tokens[prefix + s]};
            for (int[] call : calls) {
                Map<String, OnnxTensor> feeds = new HashMap<>();
                feeds.put("input_ids", OnnxTensor.createTensor(OrtLlama.ENV, LongBuffer.wrap(Arrays.stream(call).asLongStream().toArray()),
                        new long[] {1, call.length}));
                for (int l = 0; l < layers; l++) {
                    for (String kind : List.of("key", "value")) {
                        float[] data = past.getOrDefault("present." + l + "." + kind, new float[0]);
                        feeds.put("past_key_values." + l + "." + kind, OnnxTensor.createTensor(OrtLlama.ENV, FloatBuffer.wrap(data),
                                new long[] {1, kv, pastLen, hs}));
                    }
                }
                try (OrtSession.Result r = ort.session.run(feeds)) {
                    float[][] logits = ((float[][][]) r.get("logits").get().getValue())[0];
                    double err = OrtLlama.relativeError(logits, Arrays.copyOfRange(ref, pastLen, pastLen + call.length));
                    assertTrue(err < 1e-4, "positions " + pastLen + ".." + (pastLen + call.length - 1) + ": relative error " + err);
                    for (int l = 0; l < layers; l++) {
                        for (String kind : List.of("key", "value")) {
                            OnnxTensor t = (OnnxTensor) r.get("present." + l + "." + kind).get();
                            assertEquals(List.of(1L, (long) kv, (long) pastLen + call.length, (long) hs),
                                    Arrays.stream(t.getInfo().getShape()).boxed().toList());
                            FloatBuffer fb = t.getFloatBuffer();
                            float[] copy = new float[fb.remaining()];
                            fb.get(copy);
                            past.put("present." + l + "." + kind, copy);
                        }
                    }
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
                pastLen += call.length;
            }
        }
    }

    @Test
    void greedyDecodingTellsAStory() throws Exception {
        ModelProto model = Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults());
        int[] tokens = {Llama2cVocab.BOS};
        try (OrtLlama ort = OrtLlama.of(model, OptLevel.ALL_OPT)) {
            for (int step = 0; step < 60; step++) {
                float[][] logits = ort.logits(tokens);
                tokens = Arrays.copyOf(tokens, tokens.length + 1);
                tokens[tokens.length - 1] = OrtLlama.argmax(logits[logits.length - 1]);
            }
        }
        String story = vocab.decode(tokens);
        System.out.println("stories260K greedy from BOS (60 tokens): " + story);
        List<String> words = Arrays.asList(story.toLowerCase().split("[^a-z']+"));
        long common = List.of("the", "was", "a", "and", "she", "he", "to").stream().filter(words::contains).count();
        assertTrue(story.startsWith("Once upon a time") || common >= 3, "not a story: " + story);
        // the first tokens must be what the float64 reference picks too
        double[][] ref = reference.forward(Arrays.copyOf(tokens, 20), 1e-5, 10000);
        for (int p = 0; p + 1 < 20; p++) assertEquals(argmax(ref[p]), tokens[p + 1], "position " + p);
    }

    /**
     * The known figure's protocol: one window of 512 tokens t0 = BOS, t1..t511 (the model's max
     * sequence), scoring the 511 predictions of t1..t511 -> 3.71. (Also printed: 512 predictions of
     * t1..t512 from the window t0..t511, which gives 3.701.)
     */
    @Test
    void perplexityOnTinyStoriesValidation() throws Exception {
        assertTrue(valTokens.length > 513, "text prefix too short: " + valTokens.length + " tokens");
        // the prefix cut must not change the first 513 tokens
        int[] longer = vocab.encode(textPrefix(6000));
        assertEquals(Arrays.toString(Arrays.copyOf(longer, 513)), Arrays.toString(Arrays.copyOf(valTokens, 513)));
        int[] window = Arrays.copyOf(valTokens, 512);
        ModelProto model = Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults());
        double[][] ortLogits;
        try (OrtLlama ort = OrtLlama.of(model, OptLevel.ALL_OPT)) {
            float[][] logits = ort.logits(window);
            ortLogits = new double[logits.length][];
            for (int i = 0; i < logits.length; i++) ortLogits[i] = toDouble(logits[i]);
        }
        double[][] refLogits = reference.forward(window, 1e-5, 10000);
        double ortPpl = Math.exp(meanNll(Arrays.copyOf(ortLogits, 511), valTokens));
        double refPpl = Math.exp(meanNll(Arrays.copyOf(refLogits, 511), valTokens));
        double ortPpl512 = Math.exp(meanNll(ortLogits, valTokens));
        System.out.printf("stories260K perplexity on tinystories-val.txt, window BOS + 511 tokens, 511 predictions: ORT %.5f, "
                + "float64 reference %.5f; 512 predictions (t1..t512): ORT %.5f%n", ortPpl, refPpl, ortPpl512);
        assertEquals(3.71, ortPpl, 0.01);
        assertEquals(refPpl, ortPpl, 1e-4);
    }

    @Test
    void graphStructure() throws IOException {
        ModelProto fused = Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults().withNormStyle(NormStyle.FUSED));
        Map<String, Long> ops = opCounts(fused);
        assertEquals(6L, ops.get("SimplifiedLayerNormalization"));
        assertEquals(5L, ops.get("SkipSimplifiedLayerNormalization"));
        assertTrue(fused.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals("com.microsoft") && o.getVersion() == 1));
        NodeProto skip = fused.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("SkipSimplifiedLayerNormalization")).findFirst().orElseThrow();
        assertEquals("com.microsoft", skip.getDomain());
        assertEquals(4, skip.getOutputCount());
        assertEquals("", skip.getOutput(1));
        assertEquals("", skip.getOutput(2));

        ModelProto decomposed = Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults());
        ops = opCounts(decomposed);
        for (String op : List.of("Pow", "ReduceMean", "Sqrt", "Reciprocal")) assertEquals(11L, ops.get(op), op);
        assertEquals(null, ops.get("Cast"));
        assertEquals(22L, opCounts(Llama2cImporter.importCheckpoint(TestData.stories260K(),
                ImportOptions.defaults().withNormStyle(NormStyle.DECOMPOSED_CAST))).get("Cast"));
        // the exponent and eps of each norm come from Constant nodes
        Map<String, NodeProto> producers = new HashMap<>();
        for (NodeProto n : decomposed.getGraph().getNodeList()) for (String o : n.getOutputList()) producers.put(o, n);
        for (NodeProto n : decomposed.getGraph().getNodeList()) {
            if (n.getOpType().equals("Pow")) assertEquals("Constant", producers.get(n.getInput(1)).getOpType());
        }
        // shared classifier: one embedding initializer, read by Gather and (through a Transpose) by the final MatMul
        List<String> inits = decomposed.getGraph().getInitializerList().stream().map(TensorProto::getName).toList();
        assertEquals(1, inits.stream().filter(n -> n.contains("tok_embeddings") || n.contains("output")).count(), inits.toString());
        NodeProto last = decomposed.getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains("logits")).findFirst().orElseThrow();
        NodeProto transpose = producers.get(last.getInput(1));
        assertEquals("Transpose", transpose.getOpType());
        assertEquals("tok_embeddings.weight", transpose.getInput(0));
        assertTrue(inits.containsAll(List.of("layers.4.attention.wq.weight", "layers.0.attention.wk.weight", "layers.2.feed_forward.w2.weight",
                "layers.0.attention_norm.weight", "layers.4.ffn_norm.weight", "norm.weight", "rope.cos", "rope.sin")));
        TensorProto wk = decomposed.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("layers.0.attention.wk.weight")).findFirst().orElseThrow();
        assertEquals(List.of(64L, 32L), wk.getDimsList()); // [in, out]
    }

    @Test
    void writesInlineOrWithExternalData(@TempDir Path dir) throws Exception {
        Path inline = dir.resolve("stories260K.onnx"), external = dir.resolve("ext/stories260K.onnx");
        Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults(), inline, false);
        Llama2cImporter.importCheckpoint(TestData.stories260K(), ImportOptions.defaults(), external, true);
        try (var files = Files.list(dir)) {
            assertEquals(List.of("ext", "stories260K.onnx"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (var files = Files.list(external.getParent())) {
            assertEquals(List.of("stories260K.onnx", "stories260K.onnx.data"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        ModelProto read = ModelProto.parseFrom(Files.readAllBytes(inline));
        assertEquals("logits", read.getGraph().getOutput(0).getName());
        int[] tokens = Arrays.copyOf(valTokens, 16);
        try (OrtLlama a = OrtLlama.of(inline); OrtLlama b = OrtLlama.of(external)) {
            float[][] la = a.logits(tokens), lb = b.logits(tokens);
            for (int p = 0; p < tokens.length; p++) assertArrayEquals(la[p], lb[p]);
        }
    }

    static Map<String, Long> opCounts(ModelProto m) {
        return m.getGraph().getNodeList().stream().collect(Collectors.groupingBy(NodeProto::getOpType, Collectors.counting()));
    }

    /** Mean negative log-likelihood of tokens[p + 1] under logits[p]. */
    static double meanNll(double[][] logits, int[] tokens) {
        double sum = 0;
        for (int p = 0; p < logits.length; p++) {
            double max = Arrays.stream(logits[p]).max().orElseThrow();
            double z = 0;
            for (double v : logits[p]) z += Math.exp(v - max);
            sum += Math.log(z) + max - logits[p][tokens[p + 1]];
        }
        return sum / logits.length;
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
