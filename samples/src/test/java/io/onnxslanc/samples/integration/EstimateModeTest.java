package io.onnxslanc.samples.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.inputs.TensorProtoValues;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.ir.Model;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.testing.SharedData;
import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.llama.ImportOptions;
import io.onnxslanc.samples.llama.Llama2cImporter;
import io.onnxslanc.samples.llama.ReferenceLlama;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Estimate mode (issue 3): with an exact threshold low enough that every Frobenius norm is probed, each estimated
 * scale lies within 4 of its reported standard errors of the exact value computed by {@link SlancFormulas}
 * (stories260K from the raw checkpoint; all-MiniLM-L6-v2 from the initializers, parsed without the library's reader).
 */
class EstimateModeTest {
    private static final Path DIR = Path.of("target", "integration", "estimate");
    /** Every product of these models costs more than this many multiply-adds, so all are estimated. */
    private static final SlancOptions PROBED = SlancOptions.defaults().withDryRun(true).withExactThreshold(1000);

    @Test
    void stories260kEstimatesAgreeWithExactScalesWithinTheirStandardErrors() throws IOException {
        Files.createDirectories(DIR);
        Path file = DIR.resolve("stories260K.onnx");
        Llama2cImporter.write(Llama2cImporter.importCheckpoint(SharedData.stories260K(), ImportOptions.defaults()), file);
        CalibrationReport report = Slanc.calibrate(ModelReader.read(file), PROBED);
        ReferenceLlama ckpt = ReferenceLlama.fromLlama2c(SharedData.stories260K());
        List<CalibrationReport.Norm> norms = report.norms();
        assertEquals(11, norms.size());
        double worstZ = 0;
        for (int l = 0; l < ckpt.layers; l++) {
            double attention = SlancFormulas.attention(ckpt.wv[l], ckpt.wo[l], ckpt.rmsAtt[l], ckpt.heads, ckpt.kvHeads);
            double mlp = SlancFormulas.gatedMlp(ckpt.w1[l], ckpt.w3[l], ckpt.w2[l], ckpt.rmsFfn[l]);
            worstZ = Math.max(worstZ, check("stories260K", norms.get(2 * l + 1), attention));
            worstZ = Math.max(worstZ, check("stories260K", norms.get(2 * l + 2), mlp));
        }
        System.out.printf("stories260K: worst |estimate - exact| / reported std. error = %.2f%n", worstZ);
    }

    @Test
    void miniLmEstimatesAgreeWithExactScalesWithinTheirStandardErrors() {
        Path file = SampleModels.MINILM.model();
        Model model = ModelReader.read(file);
        CalibrationReport report = Slanc.calibrate(model, PROBED);
        Map<String, TensorProto> init = new HashMap<>();
        for (TensorProto t : ModelSource.parse(file).getGraph().getInitializerList()) {
            init.put(t.getName(), t);
        }
        assertEquals(13, report.norms().size());
        double worstZ = 0;
        for (CalibrationReport.Norm n : report.norms()) {
            if (n.block().equals("first")) {
                continue;
            }
            double[] gamma = vector(init, n.gamma());
            Map<String, String> w = n.weightRoles();
            double exact = switch (n.frontBlock()) {
                case "attention" -> SlancFormulas.attention(matMulWeight(init, w.get("W_v")), matMulWeight(init, w.get("W_o")),
                        gamma, n.heads(), n.kvHeads());
                case "mlp" -> SlancFormulas.plainMlp(matMulWeight(init, w.get("W_1")), matMulWeight(init, w.get("W_2")), gamma);
                default -> throw new AssertionError(n.name() + ": unexpected formula " + n.frontBlock());
            };
            worstZ = Math.max(worstZ, check("MiniLM", n, exact));
        }
        System.out.printf("MiniLM: worst |estimate - exact| / reported std. error = %.2f%n", worstZ);
    }

    /** Asserts the estimate is within 4 standard errors; returns how many it is off. */
    private static double check(String model, CalibrationReport.Norm n, double exact) {
        assertEquals(Boolean.TRUE, n.estimated(), n.name());
        assertNotNull(n.scaleUnrounded(), n.name());
        double sigma = n.relativeStdError() * n.scaleUnrounded();
        assertTrue(sigma > 0, n.name() + ": an estimate reports a positive standard error");
        double z = Math.abs(n.scaleUnrounded() - exact) / sigma;
        System.out.printf("%s %-48s %-9s estimate %.6g, exact %.6g, rel. std. error %.2e, off by %.2f std. errors%n",
                model, n.name(), n.block(), n.scaleUnrounded(), exact, n.relativeStdError(), z);
        assertTrue(z <= 4, n.name() + ": estimate " + n.scaleUnrounded() + " is " + z + " standard errors from " + exact);
        return z;
    }

    private static double[] vector(Map<String, TensorProto> init, String name) {
        float[] f = TensorProtoValues.of(tensor(init, name), "test").floats();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** W [out x in] from an ONNX MatMul operand B = W^T stored [in, out] (how all MiniLM linear layers are stored). */
    private static double[][] matMulWeight(Map<String, TensorProto> init, String name) {
        TensorProto t = tensor(init, name);
        assertEquals(2, t.getDimsCount(), name);
        int in = (int) t.getDims(0);
        int out = (int) t.getDims(1);
        float[] b = TensorProtoValues.of(t, "test").floats();
        double[][] w = new double[out][in];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                w[o][i] = b[i * out + o];
            }
        }
        return w;
    }

    private static TensorProto tensor(Map<String, TensorProto> init, String name) {
        assertNotNull(name);
        TensorProto t = init.get(name);
        assertNotNull(t, "initializer " + name);
        return t;
    }
}
