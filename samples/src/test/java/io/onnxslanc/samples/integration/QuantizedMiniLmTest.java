package io.onnxslanc.samples.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.quantize.QuantFormat;
import io.onnxslanc.samples.quantize.WeightQuantizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * MiniLM (all-MiniLM-L6-v2) with quantized weights (issue 11): (1) the int8 model published next to it
 * (all-minilm-l6-v2-q, ONNX Runtime's quantize_dynamic: DynamicQuantizeLinear + MatMulInteger) calibrates with every
 * norm scaled, within the quantization error of the FP32 model's scales, outputs unchanged; (2) the quantizer's
 * MatMulNBits variant: ORT's kernels equal the dequantized FP32 twin, SLaNC finds the
 * twin's scales, and the mean-pooled embeddings of quantized + SLaNC + FP16 and quantized + FP16 have the same cosine
 * to the quantized FP32 model's within 0.5%.
 */
class QuantizedMiniLmTest {
    private static final Path DIR = Path.of("target", "integration", "minilm-quant");
    private static EncoderInputs inputs;

    @BeforeAll
    static void setUp() throws IOException {
        Files.createDirectories(DIR);
        inputs = EncoderInputs.of(SampleModels.MINILM.tokenizerJson(), IntegrationData.SENTENCES);
    }

    @Test
    void publishedDynamicInt8ModelCalibrates() {
        CalibrationReport fp32 = Slanc.calibrate(ModelReader.read(SampleModels.MINILM.model()), SlancOptions.defaults());
        Model q = ModelReader.read(SampleModels.MINILM_Q.model());
        CalibrationReport rq = Slanc.calibrate(q, SlancOptions.defaults());
        assertEquals(fp32.norms().size(), rq.norms().size());
        double worst = 0;
        for (int i = 1; i < rq.norms().size(); i++) {
            CalibrationReport.Norm n = rq.norms().get(i);
            assertNotNull(n.scaleUnrounded(), n.name() + " unscaled: " + n.reason());
            assertTrue(n.dequantized().values().stream().allMatch(h -> h.startsWith("MatMulInteger")), n.dequantized().toString());
            double rel = Math.abs(n.scaleUnrounded() / fp32.norms().get(i).scaleUnrounded() - 1);
            worst = Math.max(worst, rel);
        }
        System.out.printf("all-minilm-l6-v2-q: %d norms scaled; unrounded s within %.4f%% of the FP32 model's%n",
                rq.norms().size() - 1, 100 * worst);
        assertTrue(worst < 0.02, "int8 weights move s by " + worst);
        Path calibrated = DIR.resolve("minilm-q.slanc.onnx");
        ModelWriter.write(q, calibrated);
        double err = OrtModels.worstRelativeError(OrtModels.run(SampleModels.MINILM_Q.model(), inputs.feeds()),
                OrtModels.run(calibrated, inputs.feeds()), "minilm-q SLaNC");
        assertTrue(err < 1e-5, "SLaNC changed the int8 model's outputs by " + err);
    }

    private static Path variant(QuantFormat f, boolean dequantized) {
        Model m = ModelReader.read(SampleModels.MINILM.model());
        assertEquals(36, WeightQuantizer.quantize(m, f, dequantized).size(), "6 layers x 6 projections");
        Path p = DIR.resolve("minilm." + f + (dequantized ? ".dequantized" : "") + ".onnx");
        ModelWriter.write(m, p);
        return p;
    }

    private static Path fp16(Path in, boolean slanc) {
        Model m = ModelReader.read(in);
        if (slanc) {
            Slanc.calibrate(m, SlancOptions.defaults());
        }
        Fp16Converter.convert(m, Fp16Options.defaults());
        Path out = in.resolveSibling(in.getFileName().toString().replace(".onnx", (slanc ? ".slanc" : "") + ".fp16.onnx"));
        ModelWriter.write(m, out);
        return out;
    }

    private static double worstCosine(Map<String, TensorData> want, Map<String, TensorData> got) {
        double[][] a = inputs.meanPool(want.get("last_hidden_state"));
        double[][] b = inputs.meanPool(got.get("last_hidden_state"));
        double worst = 1;
        for (int i = 0; i < a.length; i++) {
            worst = Math.min(worst, EncoderInputs.cosine(a[i], b[i]));
        }
        return worst;
    }

    /** MatMulNBits 4-bit with zero points (MiniLM's opset 11 has no per-axis DequantizeLinear; stories260K covers those). */
    @ParameterizedTest
    @EnumSource(value = QuantFormat.class, names = {"NBITS4_ZP"})
    void quantizedMiniLm(QuantFormat f) {
        Path quantized = variant(f, false);
        Path twin = variant(f, true);
        Map<String, TensorData> base = OrtModels.run(quantized, inputs.feeds());
        double formatErr = OrtModels.worstRelativeError(OrtModels.run(twin, inputs.feeds()), base, "minilm " + f + " kernels");
        assertTrue(formatErr < 1e-4, "ORT's quantized kernels vs the dequantized twin: " + formatErr);

        CalibrationReport rq = Slanc.calibrate(ModelReader.read(quantized), SlancOptions.defaults());
        CalibrationReport rd = Slanc.calibrate(ModelReader.read(twin), SlancOptions.defaults());
        for (int i = 1; i < rq.norms().size(); i++) {
            Double a = rq.norms().get(i).scaleUnrounded();
            Double b = rd.norms().get(i).scaleUnrounded();
            assertNotNull(a, rq.norms().get(i).name() + ": " + rq.norms().get(i).reason());
            assertEquals(b, a, 1e-6 * b, rq.norms().get(i).name()); // plain MLPs and attention: Frobenius norms only
        }

        double plain = worstCosine(base, OrtModels.run(fp16(quantized, false), inputs.feeds()));
        double calibrated = worstCosine(base, OrtModels.run(fp16(quantized, true), inputs.feeds()));
        System.out.printf("minilm %s: worst cosine to the quantized FP32 embeddings: FP16 %.7f, SLaNC + FP16 %.7f%n",
                f, plain, calibrated);
        assertTrue(plain >= 0.999 && calibrated >= 0.999, plain + " / " + calibrated);
        assertTrue(Math.abs(calibrated / plain - 1) <= 0.005);
    }
}
