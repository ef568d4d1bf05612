package io.onnxslanc.check.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.ProtoBuilders;
import io.onnxslanc.check.model.Runs;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.onnxslanc.check.TestModels.F;
import static io.onnxslanc.check.TestModels.H;
import static org.junit.jupiter.api.Assertions.*;

class ParityTest {
    private static final int V = 50, DIM = 8, K = 7;
    private static final float SHIFT = 100f;

    private static float[] shiftOneToken() {
        float[] b = new float[V];
        b[K] = SHIFT;
        return b;
    }

    @Test
    void knownShiftOfOneLogitGivesTheClosedFormErrorsAgreementAndKl() {
        ModelProto ref = TestModels.tinyLm(V, DIM, 1, null, "logits");
        ModelProto cand = TestModels.tinyLm(V, DIM, 1, shiftOneToken(), "logits");
        assertEquals(V, InputGenerator.vocabSize(ref));
        List<Map<String, TensorData>> inputs = InputGenerator.generate(ref, new InputGenerator.Options(11, 1, 16, 0, -1), 3);
        ParityReport rep = Parity.compare(ModelSource.of("ref.onnx", ref), ModelSource.of("cand.onnx", cand), inputs,
                SessionFactory.cpu(), new Parity.Options(V, 1e-3));
        OutputParity o = rep.outputs().get(0);
        assertEquals("logits", o.name());
        assertArrayEquals(new long[]{1, 16, V}, o.shape());
        assertEquals(3L * 16 * V, o.elements());

        // independent expectation from the reference logits, in double: cand = ref + 100 at token K
        double top1 = 0, kl = 0, sumAbs = 0, dot = 0, rr = 0, cc = 0;
        int rows = 0;
        try (OpenedSession s = SessionFactory.cpu().open(ModelSource.of("ref.onnx", ref))) {
            for (Map<String, TensorData> in : inputs) {
                float[] logits = Runs.run(s.session(), "ref", in).get("logits").floats();
                for (int off = 0; off < logits.length; off += V, rows++) {
                    double z = 0;
                    int arg = 0;
                    for (int j = 0; j < V; j++) {
                        z += Math.exp(logits[off + j]);
                        if (logits[off + j] > logits[off + arg]) arg = j;
                    }
                    double pk = Math.exp(logits[off + K]) / z;
                    if (arg == K) top1++;
                    kl += Math.log(1 - pk + pk * Math.exp(SHIFT)) - SHIFT * pk;
                    for (int j = 0; j < V; j++) {
                        double r = logits[off + j], c = r + (j == K ? SHIFT : 0);
                        sumAbs += Math.abs(c - r);
                        dot += r * c;
                        rr += r * r;
                        cc += c * c;
                    }
                }
            }
        }
        assertEquals(SHIFT, o.maxAbsError(), 1e-4);
        assertEquals(sumAbs / (rows * V), o.meanAbsError(), 1e-6);
        assertEquals(dot / Math.sqrt(rr * cc), o.cosine(), 1e-9);
        assertTrue(o.maxRelError() > 10);
        assertEquals(0, o.candidateNaN() + o.candidateInf() + o.referenceNaN() + o.referenceInf());
        OutputParity.NextTokenAgreement lm = o.nextToken();
        assertNotNull(lm);
        assertEquals(rows, lm.positions());
        assertEquals(top1 / rows, lm.top1Agreement(), 1e-12);
        assertEquals(kl / rows, lm.meanKl(), 1e-6 * (kl / rows));
        assertTrue(lm.meanKl() > 50, "a +100 logit shift is a large divergence: " + lm.meanKl());
        System.out.print(rep.toTable());
    }

    @Test
    void identicalModelsAgreeExactly() {
        ModelProto ref = TestModels.tinyLm(V, DIM, 2, null, "out");
        List<Map<String, TensorData>> inputs = InputGenerator.generate(ref, InputGenerator.Options.defaults(), 2);
        ParityReport rep = Parity.compare(ModelSource.of("a.onnx", ref), ModelSource.of("b.onnx", ref), inputs, SessionFactory.cpu(),
                new Parity.Options(V, 1e-3));
        OutputParity o = rep.outputs().get(0);
        assertEquals(0, o.maxAbsError());
        assertEquals(1.0, o.cosine(), 1e-12);
        assertEquals(1.0, o.nextToken().top1Agreement(), "rank-3 output with last dim = vocab counts as logits");
        assertEquals(0.0, o.nextToken().meanKl(), 1e-12);
        Parity.Options unknownVocab = Parity.Options.defaults();
        assertNull(Parity.compare(ModelSource.of("a.onnx", ref), ModelSource.of("b.onnx", ref), inputs, SessionFactory.cpu(), unknownVocab)
                .outputs().get(0).nextToken(), "'out' with no vocabulary known is not taken for logits");
    }

    /** y = x / c (FP32 reference, c = 1) against an FP16-I/O candidate y = x / c' (c' = 0 or 1 in FP16). */
    private static ModelProto divide(int type, float c) {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", type, 1, 6)).addOutput(ProtoBuilders.valueInfo("y", type, 1, 6))
                .addInitializer(type == H ? ProtoBuilders.halfTensor("c", new long[0], new float[]{c}) : ProtoBuilders.floatTensor("c", new long[0], new float[]{c}))
                .addNode(ProtoBuilders.node("Div", "div", List.of("x", "c"), List.of("y")));
        return TestModels.model(g, 17);
    }

    @Test
    void fp16CandidateInputsAndOutputsAreConvertedAndNonFiniteValuesCounted() {
        float[] x = {0f, 1.0001f, -2.5f, 3.14159f, 0f, 70000f};
        List<Map<String, TensorData>> in = List.of(Map.of("x", TensorData.ofFloats(new long[]{1, 6}, x)));
        ParityReport ok = Parity.compare(ModelSource.of("fp32.onnx", divide(F, 1f)), ModelSource.of("fp16.onnx", divide(H, 1f)), in,
                SessionFactory.cpu(), Parity.Options.defaults());
        OutputParity o = ok.outputs().get(0);
        // FP16 input: 70000 -> inf; the other values are rounded to FP16
        assertEquals(1, o.candidateInf());
        assertEquals(0, o.candidateNaN());
        double maxAbs = 0;
        for (int i = 0; i < 5; i++) maxAbs = Math.max(maxAbs, Math.abs(x[i] - io.onnxslanc.check.TestModels.fp16(x[i])));
        assertEquals(maxAbs, o.maxAbsError(), 1e-7);
        assertNull(o.nextToken());

        ParityReport bad = Parity.compare(ModelSource.of("fp32.onnx", divide(F, 1f)), ModelSource.of("zero.onnx", divide(H, 0f)), in,
                SessionFactory.cpu(), Parity.Options.defaults());
        OutputParity b = bad.outputs().get(0);
        assertEquals(2, b.candidateNaN(), "0/0");
        assertEquals(4, b.candidateInf(), "x/0 and 70000 -> inf");
        assertEquals(0, b.referenceNaN() + b.referenceInf());
    }

    @Test
    void mismatchedOutputsNameBothFiles() {
        ModelProto ref = TestModels.tinyLm(V, DIM, 1, null, "logits");
        List<Map<String, TensorData>> inputs = InputGenerator.generate(ref, InputGenerator.Options.defaults(), 1);
        IllegalArgumentException names = assertThrows(IllegalArgumentException.class, () -> Parity.compare(ModelSource.of("ref.onnx", ref),
                ModelSource.of("other.onnx", TestModels.tinyLm(V, DIM, 1, null, "scores")), inputs, SessionFactory.cpu(), Parity.Options.defaults()));
        assertEquals("reference ref.onnx and candidate other.onnx have different outputs: only in reference [logits], only in candidate [scores]",
                names.getMessage());
        ModelProto wider = TestModels.tinyLm(V + 1, DIM, 1, null, "logits");
        IllegalArgumentException shapes = assertThrows(IllegalArgumentException.class, () -> Parity.compare(ModelSource.of("ref.onnx", ref),
                ModelSource.of("wide.onnx", wider), inputs, SessionFactory.cpu(), Parity.Options.defaults()));
        assertEquals("output 'logits' has shape [1, 16, 50] in reference ref.onnx but [1, 16, 51] in candidate wide.onnx", shapes.getMessage());
        IllegalArgumentException level = assertThrows(IllegalArgumentException.class, () -> {
            try (OpenedSession a = SessionFactory.cpu().open(ModelSource.of("ref.onnx", ref));
                 OpenedSession c = SessionFactory.cpu().withOptLevel(ai.onnxruntime.OrtSession.SessionOptions.OptLevel.ALL_OPT)
                         .open(ModelSource.of("c.onnx", ref))) {
                Parity.compare("ref.onnx", a, "c.onnx", c, inputs, Parity.Options.defaults());
            }
        });
        assertTrue(level.getMessage().contains("basic") && level.getMessage().contains("all"), level.getMessage());
    }

    @Test
    void reportPrintsAndRoundTripsThroughJson() throws Exception {
        ModelProto ref = TestModels.tinyLm(V, DIM, 1, null, "logits");
        List<Map<String, TensorData>> inputs = InputGenerator.generate(ref, InputGenerator.Options.defaults(), 1);
        ParityReport rep = Parity.compare(ModelSource.of("ref.onnx", ref), ModelSource.of("cand.onnx", TestModels.tinyLm(V, DIM, 1, shiftOneToken(), "logits")),
                inputs, SessionFactory.cpu(), new Parity.Options(V, 1e-3));
        String table = rep.toTable();
        assertTrue(table.contains("logits") && table.contains("top-1") && table.contains("opt level basic") && table.contains("provider CPU"), table);
        JsonNode json = new ObjectMapper().readTree(rep.toJson());
        assertEquals("ref.onnx", json.get("reference").asText());
        assertEquals(ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion(), json.get("candidateRun").get("ortVersion").asText());
        assertEquals("basic", json.get("referenceRun").get("optLevel").asText());
        JsonNode out = json.get("outputs").get(0);
        assertEquals(rep.outputs().get(0).maxAbsError(), out.get("maxAbsError").asDouble());
        assertEquals(rep.outputs().get(0).nextToken().meanKl(), out.get("nextToken").get("meanKl").asDouble());
    }

    @Test
    void generatedInputsFollowTheModelAndTheSeed() {
        ModelProto lm = TestModels.tinyLm(V, DIM, 1, null, "logits");
        var a = InputGenerator.generate(lm, new InputGenerator.Options(5, 2, 9, 0, -1), 2);
        var b = InputGenerator.generate(lm, new InputGenerator.Options(5, 2, 9, 0, -1), 2);
        var c = InputGenerator.generate(lm, new InputGenerator.Options(6, 2, 9, 0, -1), 2);
        TensorData ids = a.get(0).get("input_ids");
        assertArrayEquals(new long[]{1, 9}, ids.shape(), "dim 0 is fixed to 1 by the model; the symbolic dim is the sequence");
        assertTrue(java.util.Arrays.stream(ids.longs()).allMatch(v -> v >= 0 && v < V));
        assertArrayEquals(ids.longs(), b.get(0).get("input_ids").longs());
        assertFalse(java.util.Arrays.equals(ids.longs(), c.get(0).get("input_ids").longs()));
        assertFalse(java.util.Arrays.equals(ids.longs(), a.get(1).get("input_ids").longs()));
        var ranged = InputGenerator.generate(lm, new InputGenerator.Options(5, 1, 64, 10, 13), 1).get(0).get("input_ids");
        assertTrue(java.util.Arrays.stream(ranged.longs()).allMatch(v -> v >= 10 && v < 13));

        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("attention_mask", io.onnxslanc.proto.Onnx.TensorProto.DataType.INT64_VALUE, -1, -1))
                .addInput(ProtoBuilders.valueInfo("feat", F, -1, 4))
                .addInput(ProtoBuilders.valueInfo("ids", io.onnxslanc.proto.Onnx.TensorProto.DataType.INT64_VALUE, -1, -1))
                .addOutput(ProtoBuilders.valueInfo("y", F, -1, 4))
                .addNode(ProtoBuilders.node("Identity", "id", List.of("feat"), List.of("y")));
        ModelProto m = TestModels.model(g, 17);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InputGenerator.generate(m, InputGenerator.Options.defaults(), 1));
        assertTrue(e.getMessage().startsWith("input 'ids' takes integer ids"), e.getMessage());
        Map<String, TensorData> in = InputGenerator.generate(m, new InputGenerator.Options(1, 3, 5, 0, 100), 1).get(0);
        assertArrayEquals(new long[]{3, 5}, in.get("attention_mask").shape());
        assertTrue(java.util.Arrays.stream(in.get("attention_mask").longs()).allMatch(v -> v == 1));
        assertArrayEquals(new long[]{3, 4}, in.get("feat").shape());
        assertTrue(in.get("feat").isFloat());
    }
}
