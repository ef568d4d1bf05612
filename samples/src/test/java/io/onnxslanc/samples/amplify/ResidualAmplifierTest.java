package io.onnxslanc.samples.amplify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.probe.NormProbe;
import io.onnxslanc.check.probe.NormStats;
import io.onnxslanc.check.probe.NormTaps;
import io.onnxslanc.check.tokenize.EncoderInput;
import io.onnxslanc.check.tokenize.HfTokenizerJson;
import io.onnxslanc.check.tokenize.Llama2cTokenizer;
import io.onnxslanc.Slanc;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.testing.SharedData;
import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.llama.ImportOptions;
import io.onnxslanc.samples.llama.Llama2cImporter;
import io.onnxslanc.samples.llama.NormStyle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The amplified models compute the same function in FP32 (ONNX Runtime on the unmodified model is the reference)
 * while every norm's input, measured by the probe in ONNX Runtime, is c times larger.
 */
class ResidualAmplifierTest {
    private static final Path DIR = Path.of("target", "amplify-test");
    private static final double[] FACTORS = {16, 256, 1024};
    private static Map<String, TensorData> storiesFeed;
    private static Map<String, TensorData> miniLmFeed;

    @BeforeAll
    static void inputs() throws IOException {
        Files.createDirectories(DIR);
        try (HfTokenizerJson tok = HfTokenizerJson.load(SampleModels.MINILM.tokenizerJson())) {
            EncoderInput e = tok.encodeSentence("The quick brown fox jumps over the lazy dog near the river bank.");
            miniLmFeed = Map.of("input_ids", TensorData.ofLongs(e.shape(), e.inputIds()),
                    "attention_mask", TensorData.ofLongs(e.shape(), e.attentionMask()),
                    "token_type_ids", TensorData.ofLongs(e.shape(), e.tokenTypeIds()));
        }
    }

    /** BOS + 64 tokens of tinystories-val.txt; only the stories260K tests need the shared data, the MiniLM ones run without. */
    private static Map<String, TensorData> storiesFeed() throws IOException {
        if (storiesFeed != null) {
            return storiesFeed;
        }
        try (Llama2cTokenizer tok = Llama2cTokenizer.load(SharedData.tok512())) {
            String text = Files.readString(SharedData.tinyStoriesVal()).substring(0, 400);
            int[] ids = tok.encode(text);
            long[] in = new long[65];
            in[0] = 1; // BOS
            for (int i = 1; i < in.length; i++) {
                in[i] = ids[i - 1];
            }
            storiesFeed = Map.of("input_ids", TensorData.ofLongs(new long[] {1, in.length}, in));
        }
        return storiesFeed;
    }

    @Test
    void stories260KPreNormKeepsLogitsAndAmplifiesEveryNormInput() throws IOException {
        Path original = DIR.resolve("stories260K.onnx");
        Llama2cImporter.write(Llama2cImporter.importCheckpoint(SharedData.stories260K(), ImportOptions.defaults()), original);
        for (double c : FACTORS) {
            Model m = ModelReader.read(original);
            AmplifyReport r = ResidualAmplifier.amplify(m, c);
            System.out.print(r.summary());
            assertEquals(AmplifyReport.Layout.PRE_NORM, r.layout());
            assertEquals(11, r.norms());
            assertEquals(1, r.streamInputs().size());
            assertEquals(10, r.writersUp().size(), "5 W_o + 5 W_down");
            assertEquals(11, r.epsilons());
            assertTrue(r.gainsUp().isEmpty() && r.readers().isEmpty());
            assertBlocksRecognised(m);
            Path amplified = DIR.resolve("stories260K.x" + (int) c + ".onnx");
            ModelWriter.write(m, amplified);
            assertSameOutputs(original, amplified, storiesFeed(), c);
            assertNormInputsScaled(original, amplified, storiesFeed(), c, 11);
        }
    }

    @Test
    void fusedNormsWithSkipInputsToo() throws IOException {
        Path original = DIR.resolve("stories260K.fused.onnx");
        Llama2cImporter.write(Llama2cImporter.importCheckpoint(SharedData.stories260K(),
                ImportOptions.defaults().withNormStyle(NormStyle.FUSED)), original);
        Model m = ModelReader.read(original);
        AmplifyReport r = ResidualAmplifier.amplify(m, 256);
        assertEquals(AmplifyReport.Layout.PRE_NORM, r.layout());
        assertEquals(10, r.writersUp().size());
        assertEquals(11, r.epsilons());
        Path amplified = DIR.resolve("stories260K.fused.x256.onnx");
        ModelWriter.write(m, amplified);
        assertSameOutputs(original, amplified, storiesFeed(), 256);
    }

    @Test
    void miniLmPostNormKeepsEmbeddingsAndAmplifiesEveryNormInput() throws IOException {
        Path original = SampleModels.MINILM.model();
        for (double c : FACTORS) {
            Model m = ModelReader.read(original);
            AmplifyReport r = ResidualAmplifier.amplify(m, c);
            System.out.print(r.summary());
            assertEquals(AmplifyReport.Layout.POST_NORM, r.layout());
            assertEquals(13, r.norms());
            assertEquals(12, r.writersUp().size(), "6 W_o + 6 W_2");
            assertEquals(12, r.biasesUp().size());
            assertEquals(24, r.gainsUp().size(), "gain and bias of 12 norms, the last one unchanged");
            assertEquals(24, r.readers().size(), "W_q, W_k, W_v and W_1 of 6 layers, each divided by c");
            assertEquals(13, r.epsilons());
            assertBlocksRecognised(m);
            Path amplified = DIR.resolve("minilm.x" + (int) c + ".onnx");
            ModelWriter.write(m, amplified);
            assertSameOutputs(original, amplified, miniLmFeed, c);
            assertNormInputsScaled(original, amplified, miniLmFeed, c, 13);
        }
    }

    @Test
    void miniLmWithOneMulInFrontOfTheReadersInstead() throws IOException {
        Path original = SampleModels.MINILM.model();
        Model m = ModelReader.read(original);
        AmplifyReport r = ResidualAmplifier.amplify(m, AmplifyOptions.of(1024)
                .withReaders(AmplifyOptions.ReaderCompensation.EDGE_MUL));
        assertEquals(12, r.readers().size(), "one 1/c Mul per non-final norm output");
        Path amplified = DIR.resolve("minilm.edge-mul.x1024.onnx");
        ModelWriter.write(m, amplified);
        assertSameOutputs(original, amplified, miniLmFeed, 1024);
    }

    @Test
    void factorOneChangesNothingAndBadFactorsAreRejected() throws IOException {
        Path original = DIR.resolve("stories260K.one.onnx");
        Llama2cImporter.write(Llama2cImporter.importCheckpoint(SharedData.stories260K(), ImportOptions.defaults()), original);
        Model m = ModelReader.read(original);
        int nodes = m.graph().nodes().size();
        AmplifyReport r = ResidualAmplifier.amplify(m, 1);
        assertFalse(r.changed());
        assertEquals(nodes, m.graph().nodes().size());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> AmplifyOptions.of(-2));
        assertTrue(e.getMessage().contains("-2"), e.getMessage());
        AmplifyReport odd = ResidualAmplifier.amplify(ModelReader.read(original), 3);
        assertEquals(1, odd.warnings().size(), odd.warnings().toString());
    }

    /** SLaNC must still find the block in front of every norm of the amplified model. */
    private static void assertBlocksRecognised(Model m) {
        for (NormBlock b : Slanc.blocks(m, NormMatcher.findAll(m.graph()))) {
            assertTrue(b.recognised(), b.site().name() + ": " + b.reason());
        }
    }

    /** max |a - b| / max |a| over every output, ORT FP32 on the original as the reference. */
    private static void assertSameOutputs(Path original, Path amplified, Map<String, TensorData> feed, double c) {
        Map<String, TensorData> ref = OUTPUTS.computeIfAbsent(original, p -> run(p, feed)); // the same feed per model
        Map<String, TensorData> got = run(amplified, feed);
        assertEquals(ref.keySet(), got.keySet());
        for (String name : ref.keySet()) {
            float[] a = ref.get(name).floats();
            float[] b = got.get(name).floats();
            assertEquals(a.length, b.length);
            double maxDiff = 0;
            double maxRef = 0;
            for (int i = 0; i < a.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs((double) a[i] - b[i]));
                maxRef = Math.max(maxRef, Math.abs(a[i]));
            }
            System.out.printf("c = %.0f, %s: max |a - b| / max |a| = %.3e%n", c, name, maxDiff / maxRef);
            assertTrue(maxRef > 0);
            assertTrue(maxDiff / maxRef <= 1e-5, name + " at c = " + c + ": relative error " + maxDiff / maxRef);
        }
    }

    /** Probe (ONNX Runtime, FP32) of both models: every norm's input row norms grow by exactly c. */
    private static void assertNormInputsScaled(Path original, Path amplified, Map<String, TensorData> feed, double c,
                                               int norms) {
        List<NormStats> before = PROBES.computeIfAbsent(original, p -> probe(p, feed));
        List<NormStats> after = probe(amplified, feed);
        assertEquals(norms, before.size());
        assertEquals(before.stream().map(NormStats::normName).toList(), after.stream().map(NormStats::normName).toList());
        for (int i = 0; i < norms; i++) {
            NormStats b = before.get(i);
            NormStats a = after.get(i);
            assertEquals(1.0, a.maxNorm() / (c * b.maxNorm()), 1e-5, b.normName() + " max norm");
            assertEquals(1.0, a.minNorm() / (c * b.minNorm()), 1e-5, b.normName() + " min norm");
            assertEquals(1.0, a.maxAbs() / (c * b.maxAbs()), 1e-5, b.normName() + " max |x|");
        }
    }

    private static final Map<Path, Map<String, TensorData>> OUTPUTS = new java.util.HashMap<>();
    private static final Map<Path, List<NormStats>> PROBES = new java.util.HashMap<>();

    private static List<NormStats> probe(Path model, Map<String, TensorData> feed) {
        return NormProbe.run(ModelSource.file(model), NormTaps.of(ModelReader.read(model)), List.of(feed),
                SessionFactory.cpu()).norms();
    }

    private static Map<String, TensorData> run(Path model, Map<String, TensorData> feed) {
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.file(model))) {
            return Runs.run(s.session(), model.toString(), feed);
        }
    }
}
