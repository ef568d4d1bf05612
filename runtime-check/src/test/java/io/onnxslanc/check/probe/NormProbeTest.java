package io.onnxslanc.check.probe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.check.TestModels;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.ProtoBuilders;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static io.onnxslanc.check.TestModels.F;
import static org.junit.jupiter.api.Assertions.*;

class NormProbeTest {
    private static final int D = 64;
    private static final double[] PREDICTED = {100, 500};

    /** x -> *2 -> SimplifiedLayerNorm ("sln1") -> MatMul W -> LayerNorm ("ln<2>") -> y. */
    private static final float[] W = new float[D * D];

    static {
        Random r = new Random(4);
        for (int i = 0; i < W.length; i++) W[i] = (float) (10 * r.nextGaussian());
    }

    private static ModelProto model() {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(ProtoBuilders.valueInfo("x", F, -1, D)).addOutput(ProtoBuilders.valueInfo("y", F, -1, D))
                .addInitializer(ProtoBuilders.floatTensor("two", new long[0], new float[]{2}))
                .addInitializer(ProtoBuilders.floatTensor("g1", new long[]{D}, TestModels.filled(D, 1)))
                .addInitializer(ProtoBuilders.floatTensor("g2", new long[]{D}, TestModels.filled(D, 1)))
                .addInitializer(ProtoBuilders.floatTensor("b2", new long[]{D}, TestModels.filled(D, 0)))
                .addInitializer(ProtoBuilders.floatTensor("W", new long[]{D, D}, W))
                .addNode(ProtoBuilders.node("Mul", "double", List.of("x", "two"), List.of("t1")))
                .addNode(ProtoBuilders.node("SimplifiedLayerNormalization", "sln1", List.of("t1", "g1"), List.of("n1"), ProtoBuilders.floatAttr("epsilon", 1e-5f)))
                .addNode(ProtoBuilders.node("MatMul", "proj", List.of("n1", "W"), List.of("t2")))
                .addNode(ProtoBuilders.node("LayerNormalization", "ln<2>", List.of("t2", "g2", "b2"), List.of("y")));
        return TestModels.model(g, 17);
    }

    /** The taps as the norm matcher will give them, found here by op type. */
    private static List<NormTap> taps(ModelProto m) {
        List<NormTap> taps = new ArrayList<>();
        for (NodeProto n : m.getGraph().getNodeList())
            if (Set.of("SimplifiedLayerNormalization", "LayerNormalization").contains(n.getOpType()))
                taps.add(new NormTap(n.getName(), n.getInput(0), D, PREDICTED[taps.size()]));
        return taps;
    }

    private static List<Map<String, TensorData>> inputs() {
        float[] a = new float[2 * D], b = new float[2 * D];
        for (int j = 0; j < D; j++) {
            a[j] = 16;                       // t1 row = 32 everywhere: sum of squares 65536 > 65504
            a[D + j] = j == 5 ? 0 : 16;      // 63 * 1024 = 64512: fits
        }
        Random r = new Random(8);
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        return List.of(Map.of("x", TensorData.ofFloats(new long[]{2, D}, a)), Map.of("x", TensorData.ofFloats(new long[]{2, D}, b)));
    }

    /** Rows of t1 and t2 recomputed in double. */
    private static List<double[][]> expectedRows(List<Map<String, TensorData>> inputs) {
        List<double[]> t1 = new ArrayList<>(), t2 = new ArrayList<>();
        for (Map<String, TensorData> in : inputs) {
            float[] x = in.get("x").floats();
            for (int off = 0; off < x.length; off += D) {
                double[] r1 = new double[D], r2 = new double[D];
                double ss = 0;
                for (int j = 0; j < D; j++) ss += (r1[j] = 2.0 * x[off + j]) * r1[j];
                double rms = Math.sqrt(ss / D + 1e-5);
                for (int k = 0; k < D; k++)
                    for (int j = 0; j < D; j++) r2[k] += r1[j] / rms * W[j * D + k];
                t1.add(r1);
                t2.add(r2);
            }
        }
        return List.of(t1.toArray(new double[0][]), t2.toArray(new double[0][]));
    }

    @Test
    void measuresEachNormInputAgainstADoubleReference() throws Exception {
        ModelProto m = model();
        List<NormTap> taps = taps(m);
        assertEquals(List.of("t1", "t2"), taps.stream().map(NormTap::inputTensorName).toList());
        List<Map<String, TensorData>> inputs = inputs();
        ProbeReport rep = NormProbe.run(ModelSource.of("toy.onnx", m), taps, inputs, SessionFactory.cpu());
        List<double[][]> expected = expectedRows(inputs);
        for (int t = 0; t < 2; t++) {
            NormStats s = rep.norms().get(t);
            double[][] rows = expected.get(t);
            double maxAbs = 0, maxSs = 0, minSs = Double.MAX_VALUE, sumNorm = 0;
            for (double[] row : rows) {
                double ss = 0;
                for (double v : row) {
                    ss += v * v;
                    maxAbs = Math.max(maxAbs, Math.abs(v));
                }
                maxSs = Math.max(maxSs, ss);
                minSs = Math.min(minSs, ss);
                sumNorm += Math.sqrt(ss);
            }
            double tol = t == 0 ? 1e-9 : 1e-4;
            assertEquals(4, s.rows());
            assertEquals(maxAbs, s.maxAbs(), tol * maxAbs);
            assertEquals(maxSs, s.maxSumSq(), tol * maxSs);
            assertEquals(minSs, s.minSumSq(), tol * minSs);
            assertEquals(sumNorm / 4, s.meanNorm(), tol * sumNorm);
            assertEquals(65504 / maxSs, s.overflowHeadroom(), tol * 65504 / maxSs);
            assertEquals(minSs / Math.pow(2, -14), s.underflowHeadroom(), tol * minSs * 16384);
            assertEquals(s.meanNorm() / PREDICTED[t], s.measuredOverPredicted(), 1e-12);
            assertEquals(PREDICTED[t], s.predictedScale());
            assertEquals(maxSs > 65504, s.overflowsFp16(), "norm " + t);
        }
        NormStats first = rep.norms().get(0);
        assertEquals(65536.0, first.maxSumSq());
        assertEquals(Double.POSITIVE_INFINITY, first.maxFp16SumSq());
        assertEquals(1, first.fp16OverflowRows(), "only the all-32 row overflows; 64512 fits");
        assertTrue(first.overflowHeadroomLog2() < 0);
        assertTrue(rep.norms().get(1).overflowsFp16(), "W ~ N(0, 100) lifts ||t2|| far above 255.9");

        String table = rep.toTable();
        assertTrue(table.contains("sln1") && table.contains("ln<2>") && table.contains("OVERFLOW (1 rows)"), table);
        JsonNode json = new ObjectMapper().readTree(rep.toJson());
        assertEquals("ln<2>", json.get("norms").get(1).get("normName").asText());
        assertTrue(json.get("norms").get(0).get("overflowsFp16").asBoolean());
        assertEquals(Double.POSITIVE_INFINITY, json.get("norms").get(0).get("maxFp16SumSq").asDouble());
        assertEquals("1.28.0", json.get("run").get("ortVersion").asText().substring(0, 6));

        String html = rep.toHtml();
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<svg") && html.contains("</svg>"));
        assertFalse(html.contains("<script") || html.contains("src=") || html.contains("href=") || html.contains("ln<2>"),
                "self-contained, no scripts, names escaped");
        assertTrue(html.contains("ln&lt;2&gt;"));
        assertTrue(html.contains("FP16 overflow: ||x|| = 255.9") && html.contains("FP16 underflow: ||x|| = 0.0078"));
        assertEquals(2, html.split("<circle cx=\"[0-9.]+\" cy=\"[0-9.]+\" r=\"4\" fill=\"#d62728\"><title>", -1).length - 1, "both norms drawn as overflowing");
        Path out = Path.of("target", "norm-probe-test.html");
        Files.writeString(out, html);
        System.out.print(table);
    }

    @Test
    void fp16AccumulationKnownAnswers() {
        float[] ones = TestModels.filled(4096, 1f);
        assertEquals(2048f, NormProbe.fp16SumOfSquares(ones, 0, 4096), "FP16 sums of ones stall at 2048 (2048 + 1 rounds to even)");
        float[] a = TestModels.filled(64, 32f);
        assertEquals(Float.POSITIVE_INFINITY, NormProbe.fp16SumOfSquares(a, 0, 64));
        a[0] = 0;
        assertEquals(64512f, NormProbe.fp16SumOfSquares(a, 0, 64));
        assertEquals(1f, NormProbe.fp16SumOfSquares(new float[]{1f, 0.01f}, 0, 2), "1 + 1e-4 is below half an FP16 ulp of 1");
        assertEquals(Float.POSITIVE_INFINITY, NormProbe.fp16SumOfSquares(new float[]{300f}, 0, 1), "one |x| > 255.9 is enough");
        assertEquals(0f, NormProbe.fp16SumOfSquares(new float[]{1e-4f, 1e-4f}, 0, 2), "squares below 2^-25 flush to zero");
    }

    @Test
    void tapsOnGraphInputsAndBadTapsAreHandled() {
        ModelProto m = model();
        List<Map<String, TensorData>> in = inputs();
        ProbeReport rep = NormProbe.run(ModelSource.of("toy.onnx", m), List.of(new NormTap("on-input", "x", D, Double.NaN)), in, SessionFactory.cpu());
        assertEquals(16.0, rep.norms().get(0).maxAbs());
        assertTrue(Double.isNaN(rep.norms().get(0).measuredOverPredicted()));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> NormProbe.run(ModelSource.of("toy.onnx", m), List.of(new NormTap("n", "nope", D, 1)), in, SessionFactory.cpu()));
        assertEquals("toy.onnx: norm 'n' reads 'nope', which no node produces", missing.getMessage());
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> NormProbe.run(ModelSource.of("toy.onnx", m), List.of(new NormTap("n", "t1", 32, 1)), in, SessionFactory.cpu()));
        assertTrue(size.getMessage().contains("expected floats with last dimension 32"), size.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new NormTap("n", "t", 0, 1));
    }
}
