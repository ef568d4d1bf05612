package io.onnxslanc.samples.fallback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.fallback.Fp32Fallback;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.tokenize.EncoderInput;
import io.onnxslanc.check.tokenize.HfTokenizerJson;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.amplify.ResidualAmplifier;
import io.onnxslanc.samples.amplify.ResidualRescale;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The experiment's MiniLM at c = 1024, where the residual stream itself (|x| up to 2.3e5) does not fit FP16 and every
 * FP16 variant fails: the FP32 fallback planned on four sentences, judged on four others by ORT against the unamplified
 * FP32 MiniLM (cosine of last_hidden_state computed here, in double), under the naive-FP16-norm emulation with the
 * planned FP32 nodes left in FP32.
 */
class Fp32FallbackMiniLmTest {
    private static final List<String> PLAN = List.of("The cat sat quietly on the warm windowsill, watching the rain.",
            "Stock markets fell sharply on Tuesday after the central bank raised interest rates.",
            "How do I reset my password if I no longer have access to my email?",
            "A transformer processes every token of the sequence in parallel.");
    private static final List<String> JUDGE = List.of("She finally finished the marathon in just under four hours.",
            "Photosynthesis converts light energy into chemical energy stored in glucose.",
            "The old bridge was closed for repairs, so we took the long way around the lake.",
            "Static calibration rescales each normalisation layer before inference.");

    @TempDir
    static Path dir;
    static Path amplified;
    static List<float[]> reference;

    @BeforeAll
    static void amplify() throws IOException {
        Model m = ModelReader.read(SampleModels.MINILM.model());
        ResidualAmplifier.amplify(m, 1024);
        amplified = dir.resolve("minilm.x1024.onnx");
        ModelWriter.write(m, amplified);
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.file(SampleModels.MINILM.model()))) {
            reference = hidden(s, feeds(JUDGE));
        }
    }

    static List<Map<String, TensorData>> feeds(List<String> sentences) throws IOException {
        List<Map<String, TensorData>> out = new ArrayList<>();
        try (HfTokenizerJson tok = HfTokenizerJson.load(SampleModels.MINILM.tokenizerJson())) {
            for (String s : sentences) {
                EncoderInput e = tok.encodeSentence(s);
                out.add(Map.of("input_ids", TensorData.ofLongs(e.shape(), e.inputIds()),
                        "attention_mask", TensorData.ofLongs(e.shape(), e.attentionMask()),
                        "token_type_ids", TensorData.ofLongs(e.shape(), e.tokenTypeIds())));
            }
        }
        return out;
    }

    static List<float[]> hidden(OpenedSession s, List<Map<String, TensorData>> feeds) {
        List<float[]> out = new ArrayList<>();
        for (Map<String, TensorData> f : feeds) {
            out.add(Runs.run(s.session(), "minilm", f).get("last_hidden_state").floats());
        }
        return out;
    }

    /** Smallest cosine over the sentences, NaN when any value is not finite. */
    static double worstCosine(List<float[]> a, List<float[]> b) {
        double worst = 1;
        for (int i = 0; i < a.size(); i++) {
            double ab = 0, aa = 0, bb = 0;
            for (int j = 0; j < a.get(i).length; j++) {
                ab += (double) a.get(i)[j] * b.get(i)[j];
                aa += (double) a.get(i)[j] * a.get(i)[j];
                bb += (double) b.get(i)[j] * b.get(i)[j];
            }
            double c = ab / Math.sqrt(aa * bb);
            if (!Double.isFinite(c)) {
                return Double.NaN;
            }
            worst = Math.min(worst, c);
        }
        return worst;
    }

    /** The planned model under naive FP16 norms, its FP32 nodes unrounded, against the FP32 original. */
    static double emulatedCosine(Fp32Fallback.Plan plan, String name) throws IOException {
        Path file = dir.resolve(name);
        ModelWriter.write(plan.model(), file);
        Set<String> fp32 = plan.report().nodeNames();
        try (OpenedSession s = Emulation.open(ModelSource.read(file), Emulation.Mode.FP16_NAIVE_NORMS, SessionFactory.cpu(),
                true, fp32).opened()) {
            return worstCosine(reference, hidden(s, feeds(JUDGE)));
        }
    }

    @Test
    void withoutFallbackSlancAloneFails() throws IOException {
        Fp32Fallback.Plan none = Fp32Fallback.plan(amplified, SlancOptions.defaults(), feeds(PLAN), SessionFactory.cpu(),
                Fp32Fallback.Options.defaults());
        Fp32Fallback.Plan noNodes = new Fp32Fallback.Plan(none.model(), none.calibration(),
                new io.onnxslanc.check.fallback.FallbackReport(0, 0, 1, "", 0, List.of(), 0));
        double cos = emulatedCosine(noNodes, "slanc-only.onnx");
        assertTrue(!(cos >= 0.9), "SLaNC alone at c = 1024 should fail, cosine " + cos);
    }

    @Test
    void staticRescaleFirst() throws IOException {
        Fp32Fallback.Plan plan = Fp32Fallback.plan(amplified, SlancOptions.defaults(), feeds(PLAN), SessionFactory.cpu(),
                Fp32Fallback.Options.defaults().withRescale(ResidualRescale.INSTANCE));
        double cos = emulatedCosine(plan, "static.onnx");
        assertTrue(plan.report().rescale() < 1, plan.report().toText());
        assertTrue(cos >= 0.999, "cosine " + cos + "\n" + plan.report().toText());
    }

    @Test
    void islandsOnly() throws IOException {
        Fp32Fallback.Plan plan = Fp32Fallback.plan(amplified, SlancOptions.defaults(), feeds(PLAN), SessionFactory.cpu(),
                Fp32Fallback.Options.defaults());
        double cos = emulatedCosine(plan, "islands.onnx");
        assertEquals(1.0, plan.report().rescale());
        assertTrue(!plan.report().nodes().isEmpty());
        assertTrue(cos >= 0.999, "cosine " + cos + "\n" + plan.report().toText());
    }
}
