package io.onnxslanc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.calibrate.CalibrationException;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.calibrate.SlancReference;
import io.onnxslanc.calibrate.TestGraph;
import io.onnxslanc.calibrate.Transformers;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import io.onnxslanc.rewrite.SlancRewrite;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The library entry point end to end: matcher, blocks, scales, rewrite, report, files. */
class SlancFacadeTest {

    private static Map<String, Integer> counts(Object... kv) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (Integer) kv[i + 1]);
        }
        return m;
    }

    @Test
    void llamaIsCalibratedOnceAndReportedAsJson() throws Exception {
        TestGraph t = Transformers.llama(31);
        Model model = t.model;
        CalibrationReport r = Slanc.calibrate(model, SlancOptions.defaults());
        assertEquals(counts("first", 1, "attention", 2, "gated-mlp", 1, "final", 1), r.blockCounts(), r.toTable());
        assertFalse(r.alreadyCalibrated());

        JsonNode json = new ObjectMapper().readTree(ReportJson.text(ReportJson.calibration(r)));
        JsonNode norms = json.get("norms");
        assertEquals(5, norms.size());
        JsonNode att = norms.get(1);
        assertEquals("l0/post_ln", att.get("name").asText());
        assertEquals("SimplifiedLayerNormalization", att.get("kind").asText());
        assertEquals("attention", att.get("block").asText());
        assertEquals("l0.input_ln.weight", att.get("feeding_gain").asText(), "the gain of the norm feeding the block");
        assertEquals("l0.post_ln.weight", att.get("gain").asText(), "the norm's own gain");
        assertEquals(model.graph().findNode("l0/post_ln").output(0).name(), att.get("output").asText());
        assertTrue(json.get("candidates").isEmpty());
        assertEquals("SLaNC: 5 of 5 norms scaled, 0 first norms at s = 1, 0 unscaled", json.get("summary").asText());
        assertEquals("l0.wv", att.get("weights").get(0).asText());
        assertEquals("l0.wo", att.get("weights").get(1).asText());
        assertEquals("l0.wv", att.get("weight_roles").get("W_v").asText());
        assertEquals("l0.wo", att.get("weight_roles").get("W_o").asText());
        double s = att.get("scale").asDouble();
        assertEquals(s, Math.scalb(1.0, Math.getExponent(s)), "a power of two");
        assertTrue(att.get("reason").isNull());
        assertEquals(1e-5f, (float) att.get("epsilon_before").asDouble());
        assertEquals((float) (1e-5f / (s * s)), (float) att.get("epsilon_after").asDouble());
        assertFalse(att.get("estimated").asBoolean());
        assertEquals(0.0, att.get("relative_std_error").asDouble());
        assertEquals("first", norms.get(0).get("block").asText());
        assertEquals(SlancReference.powerOfTwo(SlancReference.maxRowNorm(t.data("embed"), Transformers.LD)),
                norms.get(0).get("scale").asDouble(), "first norm: largest embedding row norm, rounded");
        assertEquals("final", norms.get(4).get("block").asText());
        assertEquals("gated-mlp", norms.get(4).get("front_block").asText());

        int nodes = model.graph().nodes().size();
        CalibrationReport again = Slanc.calibrate(model, SlancOptions.defaults());
        assertTrue(again.alreadyCalibrated());
        assertTrue(again.norms().isEmpty());
        assertTrue(again.warnings().get(0).startsWith("already calibrated"), again.warnings().toString());
        assertEquals(nodes, model.graph().nodes().size(), "nothing changed the second time");
    }

    @Test
    void unrecognisedNormIsReportedUnscaled() throws Exception {
        TestGraph t = new TestGraph(32);
        Value x = t.input("x", DataType.FLOAT, 1, 3, 8);
        Value y = t.input("y", DataType.FLOAT, 1, 3, 8);
        Value h = t.rmsNorm("n0", x, t.vector("g0", 8, 1, 0.1), 1e-5f, 8).output();
        Value n1 = t.rmsNorm("n1", t.op("Add", h, t.op("Relu", y)), t.vector("g1", 8, 1, 0.1), 1e-5f, 8).output();
        t.g.addOutput(n1);
        CalibrationReport r = Slanc.calibrate(t.model, SlancOptions.defaults());
        CalibrationReport.Norm n = r.norm("n1");
        assertEquals("unknown", n.block());
        assertNull(n.scale());
        assertTrue(n.reason().contains("with no MatMul weight found"), n.reason());
        assertEquals(n.epsilonBefore(), n.epsilonAfter());
        assertTrue(r.warnings().contains("1 of 2 norms left unscaled; see their \"reason\""), r.warnings().toString());
        JsonNode json = new ObjectMapper().readTree(ReportJson.text(ReportJson.calibration(r))).get("norms").get(1);
        assertTrue(json.get("scale").isNull());
        assertEquals(n.reason(), json.get("reason").asText());
        assertTrue(r.toTable().contains("with no MatMul weight found"));
    }

    @Test
    void nanWeightStopsBeforeAnythingIsWritten(@TempDir Path dir) {
        TestGraph t = Transformers.llama(33);
        float[] wo = t.data("l0.wo").clone();
        wo[7] = Float.NaN;
        t.g.lookup("l0.wo").setConstant(ArrayTensor.ofFloats(new long[] {Transformers.LD, Transformers.LD}, wo));
        Path in = dir.resolve("nan.onnx");
        ModelWriter.write(t.model, in);
        Path out = dir.resolve("out.onnx");
        CalibrationException e = assertThrows(CalibrationException.class,
                () -> Slanc.calibrateFile(in, out, SlancOptions.defaults()));
        assertTrue(e.getMessage().startsWith(in.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("weight 'l0.wo' contains NaN"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void calibratedFileKeepsItsMarker(@TempDir Path dir) {
        Path in = dir.resolve("bert.onnx");
        ModelWriter.write(Transformers.bert(34).model, in);
        Path once = dir.resolve("once.onnx");
        CalibrationReport r = Slanc.calibrateFile(in, once, SlancOptions.defaults());
        assertEquals(counts("first", 1, "attention", 2, "mlp", 1, "final", 1), r.blockCounts(), r.toTable());
        Model read = ModelReader.read(once);
        assertEquals(SlancRewrite.VERSION, read.metadata().get(SlancRewrite.MARKER));
        Path twice = dir.resolve("twice.onnx");
        assertTrue(Slanc.calibrateFile(once, twice, SlancOptions.defaults()).alreadyCalibrated());
        assertEquals(ModelReader.read(twice).graph().nodes().size(), read.graph().nodes().size());
    }

    @Test
    void dryRunChangesNothing() {
        Model model = Transformers.gpt2(35, false).model;
        int nodes = model.graph().nodes().size();
        CalibrationReport r = Slanc.calibrate(model, SlancOptions.defaults().withDryRun(true));
        assertTrue(r.dryRun());
        assertEquals(nodes, model.graph().nodes().size());
        assertFalse(model.metadata().containsKey(SlancRewrite.MARKER));
        CalibrationReport.Norm ln2 = r.norm("ln_2");
        assertEquals("attention", ln2.block());
        assertEquals(List.of("c_attn.weight", "c_proj.weight"), ln2.weights());
        assertEquals(Map.of("W_v", "c_attn.weight[rows 32..48]", "W_o", "c_proj.weight"), ln2.weightRoles());
        assertEquals(ln2.epsilonBefore() / (ln2.scale() * ln2.scale()), ln2.epsilonAfter(), 1e-20);
    }

    @Test
    void skipNormThroughTheMatcher() {
        TestGraph t = Transformers.fusedLlama(36, false);
        CalibrationReport r = Slanc.calibrate(t.model, SlancOptions.defaults().withPowerOfTwo(false));
        assertEquals(counts("first", 1, "attention", 1, "final", 1), r.blockCounts(), r.toTable());
        CalibrationReport.Norm skip = r.norm("post_ln");
        assertEquals("SkipSimplifiedLayerNormalization", skip.kind());
        assertEquals(skip.scale(), Math.scalb(1.0, Math.getExponent(skip.scale())), "rounded although rounding is off");
        CalibrationReport.Norm fin = r.norm("final_ln");
        assertTrue(fin.scale() != Math.scalb(1.0, Math.getExponent(fin.scale())), "not rounded: rounding is off");
        // the residual sum reaches the final Add through the restoring Mul, under its old name
        Value sum = t.g.lookup("post_ln_sum");
        assertEquals("Mul", sum.producer().opType());
        assertEquals(skip.scale(), sum.producer().input(1).constant().toDoubles()[0], 0);
    }

    @Test
    void externalDataWeightsAreMappedAndReleasedPerBlock(@TempDir Path dir) {
        Path inline = dir.resolve("inline.onnx");
        Path external = dir.resolve("external.onnx");
        ModelWriter.write(Transformers.llama(37).model, inline);
        ModelWriter.write(Transformers.llama(37).model, external,
                io.onnxslanc.io.WriteOptions.defaults().withExternalData(io.onnxslanc.io.WriteOptions.ExternalData.EXTERNAL));
        Model m = ModelReader.read(external);
        assertTrue(m.graph().lookup("l0.wv").constant() instanceof io.onnxslanc.io.ExternalTensor);
        CalibrationReport fromExternal = Slanc.calibrate(m, SlancOptions.defaults());
        CalibrationReport fromInline = Slanc.calibrate(ModelReader.read(inline), SlancOptions.defaults());
        assertEquals(fromInline.norms(), fromExternal.norms());
        // the weights are still readable after their regions were released (each read maps afresh)
        assertEquals(Transformers.LD * Transformers.LKV * Transformers.LHD,
                m.graph().lookup("l0.wv").constant().toDoubles().length);
    }
}
