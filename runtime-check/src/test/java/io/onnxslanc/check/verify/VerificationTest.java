package io.onnxslanc.check.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.parity.Parity;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Gates on a tiny synthetic LM (seeded weights, labelled synthetic): a candidate whose logits are shifted at one token. */
class VerificationTest {
    private static final int V = 40, D = 8;

    private static Verdict verify(float shift, Gates gates) {
        float[] bias = new float[V];
        bias[3] = shift;
        ModelProto ref = TestModels.tinyLm(V, D, 5, null, "logits");
        ModelProto cand = TestModels.tinyLm(V, D, 5, bias, "logits");
        List<Map<String, TensorData>> inputs = InputGenerator.generate(ref, new InputGenerator.Options(3, 1, 12, 0, -1), 2);
        return Verification.verify(ModelSource.of("ref", ref), ModelSource.of("cand", cand), inputs, SessionFactory.cpu(),
                Verification.Options.defaults().withGates(gates).withParity(new Parity.Options(V, 1e-3)));
    }

    @Test
    void identicalCandidatePasses() {
        Verdict v = verify(0, Gates.defaults());
        assertTrue(v.passed(), v.line());
        assertTrue(v.line().startsWith("verdict PASS: worst output 'logits': cosine 1.000000"), v.line());
        assertEquals(0.0, v.perplexity().increasePct(), 1e-9);
    }

    @Test
    void largeShiftFailsEveryLanguageModelGateAndNamesTheOutput() {
        Verdict v = verify(50, Gates.defaults());
        assertFalse(v.passed());
        assertEquals("logits", v.worstOutput());
        OutputVerdict o = v.outputs().get(0);
        assertTrue(o.failures().stream().anyMatch(f -> f.startsWith("top-1 agreement")), o.failures().toString());
        assertTrue(o.failures().stream().anyMatch(f -> f.startsWith("mean KL")), o.failures().toString());
        assertTrue(v.line().startsWith("verdict FAIL: output 'logits': "), v.line());
        assertEquals(1, v.line().lines().count());
    }

    /** The sample perplexity against a float64 re-computation from the two models' logits. */
    @Test
    void perplexityOverTheSamplesMatchesAnIndependentComputation() {
        float shift = 2;
        Verdict v = verify(shift, Gates.defaults().withMaxPplIncreasePct(Double.NaN).withMinTop1(Double.NaN)
                .withMaxKl(Double.NaN).withMinCosine(Double.NaN));
        assertTrue(v.passed(), "every gate off: " + v.line());
        ModelProto ref = TestModels.tinyLm(V, D, 5, null, "logits");
        List<Map<String, TensorData>> inputs = InputGenerator.generate(ref, new InputGenerator.Options(3, 1, 12, 0, -1), 2);
        double nllRef = 0, nllCand = 0;
        long n = 0;
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.of("ref", ref))) {
            for (Map<String, TensorData> in : inputs) {
                float[] logits = Runs.run(s.session(), "ref", in).get("logits").floats();
                long[] ids = in.get("input_ids").longs();
                for (int t = 0; t + 1 < ids.length; t++, n++) {
                    double zr = 0, zc = 0;
                    for (int j = 0; j < V; j++) {
                        zr += Math.exp(logits[t * V + j]);
                        zc += Math.exp(logits[t * V + j] + (j == 3 ? shift : 0));
                    }
                    int target = (int) ids[t + 1];
                    nllRef += Math.log(zr) - logits[t * V + target];
                    nllCand += Math.log(zc) - (logits[t * V + target] + (target == 3 ? shift : 0));
                }
            }
        }
        assertEquals(n, v.perplexity().tokens());
        assertEquals(Math.exp(nllRef / n), v.perplexity().reference(), 1e-6);
        assertEquals(Math.exp(nllCand / n), v.perplexity().candidate(), 1e-5);
    }

    @Test
    void nonFiniteCandidateValuesFailWhateverTheThresholds() {
        Gates off = new Gates(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        Verdict v = verify(Float.POSITIVE_INFINITY, off);
        assertFalse(v.passed());
        assertTrue(v.line().contains("NaN/inf value"), v.line());
    }
}
