package io.onnxslanc.check;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.HeadSpool;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.Spool;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Converted models load and run in ONNX Runtime and agree with the unmodified float32 model:
 * all-MiniLM-L6-v2 (float32 and its int8 dynamic-quantised variant) and a model with an If.
 */
class Fp16ConversionOrtTest {
    private static final Path WORK = Path.of("target", "fp16-ort-test");

    /** bert-base-uncased WordPiece ids ([CLS] ... [SEP]) of four sentences. */
    private static final long[][] SENTENCES = {
        {101, 1996, 4937, 2938, 2006, 1996, 13523, 102},                                 // the cat sat on the mat
        {101, 1037, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102},         // a quick brown fox jumps over the lazy dog.
        {101, 2006, 26807, 2448, 7292, 3216, 10938, 2121, 4275, 1999, 2431, 11718, 1012, 102}, // onnx runtime runs transformer models in half precision.
        {101, 1996, 4633, 1999, 3000, 2003, 8403, 1999, 1996, 3500, 1012, 102},          // the weather in paris is lovely in the spring.
    };

    private static OrtEnvironment env;

    @BeforeAll
    static void start() throws IOException {
        env = OrtEnvironment.getEnvironment();
        Files.createDirectories(WORK);
    }

    private static Path extract(String resource) throws IOException {
        Path out = WORK.resolve(resource);
        try (InputStream in = Fp16ConversionOrtTest.class.getResourceAsStream("/" + resource)) {
            assertNotNull(in, resource + " not on the test classpath");
            Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    private static Path convert(Path fp32, String name, Fp16Options options) {
        Model m = ModelReader.read(fp32);
        ConversionReport r = Fp16Converter.convert(m, options);
        Path out = WORK.resolve(name);
        ModelWriter.write(m, out);
        System.out.print(name + ": " + r.toText());
        assertFalse(r.alreadyConverted());
        assertTrue(r.clampCountsComplete(), "clamp counts are taken while writing");
        return out;
    }

    private static OrtSession session(Path model) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        // same low level for both models, so that neither gets fusions the other lacks
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
        return env.createSession(model.toString(), so);
    }

    /** Mean of last_hidden_state over the tokens (the attention mask is all ones). */
    private static double[] embed(OrtSession s, long[] ids) throws OrtException {
        long[][] mask = new long[1][ids.length];
        Arrays.fill(mask[0], 1);
        long[][] types = new long[1][ids.length];
        try (OnnxTensor in = OnnxTensor.createTensor(env, new long[][] {ids});
             OnnxTensor am = OnnxTensor.createTensor(env, mask);
             OnnxTensor tt = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = s.run(Map.of("input_ids", in, "attention_mask", am, "token_type_ids", tt))) {
            OnnxTensor out = (OnnxTensor) r.get("last_hidden_state").orElseThrow();
            long[] shape = out.getInfo().getShape();
            int d = (int) shape[2];
            FloatBuffer fb = out.getFloatBuffer(); // float32, or float16 widened exactly
            double[] mean = new double[d];
            for (int t = 0; t < ids.length; t++) {
                for (int j = 0; j < d; j++) {
                    mean[j] += fb.get(t * d + j) / (double) ids.length;
                }
            }
            return mean;
        }
    }

    private static double cosine(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** Worst cosine over the sentences between the two models' embeddings. */
    private static double worstCosine(Path reference, Path converted) throws OrtException {
        double worst = 1;
        try (OrtSession a = session(reference); OrtSession b = session(converted)) {
            for (long[] ids : SENTENCES) {
                double c = cosine(embed(a, ids), embed(b, ids));
                System.out.printf("  %s vs %s, %d tokens: cosine %.7f%n", reference.getFileName(),
                        converted.getFileName(), ids.length, c);
                worst = Math.min(worst, c);
            }
        }
        return worst;
    }

    @Test
    void miniLmConvertedToFloat16MatchesFloat32() throws Exception {
        Path fp32 = extract("all-minilm-l6-v2.onnx");
        Path fp16 = convert(fp32, "minilm-fp16.onnx", Fp16Options.defaults());
        try (OrtSession s = session(fp16)) {
            assertTrue(isFloat16(s.getOutputInfo().get("last_hidden_state")));
        }
        double worst = worstCosine(fp32, fp16);
        // measured 1 - cos = 5e-7 (0.9999995, ORT 1.28.0 CPU); bound 10x that
        assertTrue(1 - worst <= 5e-6, "worst cosine " + worst);
    }

    /**
     * The weights-first inline layout (the graph's length in five bytes, its weights before its nodes) that an
     * inline output gets when its weights are written while SLaNC computes: ONNX Runtime reads it as the same model.
     */
    @Test
    void miniLmWrittenWeightsFirstGivesTheOutputsOfProtobufsOwnLayout() throws Exception {
        Path fp32 = extract("all-minilm-l6-v2.onnx");
        Path external = WORK.resolve("weights-first").resolve("minilm-external.onnx");
        ModelWriter.write(ModelReader.read(fp32), external, WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL));
        WriteOptions inline = WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.INLINE);
        Model twin = ModelReader.read(external);
        Fp16Converter.convert(twin, Fp16Options.defaults());
        Path weightsFirst = WORK.resolve("weights-first").resolve("minilm-fp16-weights-first.onnx");
        Spool head = ModelWriter.spool(twin, weightsFirst, inline);
        assertTrue(head instanceof HeadSpool, String.valueOf(head));
        Model m = ModelReader.read(external);
        Fp16Converter.convert(m, Fp16Options.defaults());
        ModelWriter.write(m, weightsFirst, inline, head);
        assertTrue(head.adopted());
        Path plain = WORK.resolve("weights-first").resolve("minilm-fp16-plain.onnx");
        ModelWriter.write(m, plain, inline);
        assertFalse(Arrays.equals(Files.readAllBytes(plain), Files.readAllBytes(weightsFirst)), "two layouts");
        try (OrtSession a = session(plain); OrtSession b = session(weightsFirst)) {
            for (long[] ids : SENTENCES) {
                assertArrayEquals(embed(a, ids), embed(b, ids), "the same weights give the same outputs");
            }
        }
        assertTrue(1 - worstCosine(fp32, weightsFirst) <= 5e-6);
    }

    @Test
    void miniLmWithFloat32NormsBlockedOpsAndFloat32IoRuns() throws Exception {
        Path fp32 = extract("all-minilm-l6-v2.onnx");
        Path mixed = convert(fp32, "minilm-fp16-mixed.onnx", Fp16Options.defaults().withNormsFp32(true)
                .withKeepAllIoTypes(true).withOpBlockList(Set.of("Softmax"))
                .withNodeBlockList(Set.of("/encoder/layer.0/intermediate/intermediate_act_fn/Erf")));
        double worst = worstCosine(fp32, mixed);
        // measured 1 - cos = 2e-7 (0.9999998); bound 10x that
        assertTrue(1 - worst <= 2e-6, "worst cosine " + worst);
    }

    @Test
    void quantisedMiniLmKeepsItsIntegerPartsAndMatchesItsFloat32Self() throws Exception {
        Path q = extract("all-minilm-l6-v2-q.onnx");
        Path q16 = convert(q, "minilm-q-fp16.onnx", Fp16Options.defaults());
        Model converted = ModelReader.read(q16);
        Model original = ModelReader.read(q);
        assertEquals(original.graph().opTypeCounts().get("MatMulInteger"), converted.graph().opTypeCounts().get("MatMulInteger"));
        for (Value v : original.graph().initializers()) {
            DataType t = v.constant().dataType();
            if (t == DataType.INT8 || t == DataType.UINT8) {
                Value c = converted.graph().lookup(v.name());
                assertEquals(v.constant().read(), c.constant().read(), "integer initializer " + v.name() + " changed");
            }
        }
        double worst = worstCosine(q, q16);
        // measured 1 - cos = 8.7e-3 (0.9912794: the quantised model's FP32 activations rounded to FP16); 0.01 is ~1.2x
        assertTrue(worst >= 0.99, "worst cosine " + worst);
    }

    /** y = If(cond, then: x * W, else: (x + L) - W with the Sub kept in float32). */
    private static Model ifModel() {
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT, 4));
        Value cond = g.addInput("cond", TensorType.of(DataType.BOOL));
        Value w = g.addInitializer("W", ArrayTensor.ofFloats(new long[] {4}, 0.5f, -1.25f, 3.0f, 1e-3f));
        Graph thenG = g.newSubgraph();
        thenG.setName("then");
        Node mul = thenG.addNode("Mul", "", "thenMul", List.of(x, w), List.of("t"));
        mul.output(0).setType(TensorType.of(DataType.FLOAT, 4));
        thenG.addOutput(mul.output(0));
        Graph elseG = g.newSubgraph();
        elseG.setName("else");
        Value local = elseG.addInitializer("L", ArrayTensor.ofFloats(new long[] {4}, 10f, 20f, -30f, 0.25f));
        Node add = elseG.addNode("Add", "", "elseAdd", List.of(x, local), List.of("e1"));
        Node sub = elseG.addNode("Sub", "", "elseSlow", List.of(add.output(0), w), List.of("e2"));
        sub.output(0).setType(TensorType.of(DataType.FLOAT, 4));
        elseG.addOutput(sub.output(0));
        Node ifNode = g.addNode("If", "", "if", List.of(cond), List.of("y"));
        ifNode.setAttribute(new Attribute("then_branch", Attribute.Kind.GRAPH, thenG, "", ""));
        ifNode.setAttribute(new Attribute("else_branch", Attribute.Kind.GRAPH, elseG, "", ""));
        ifNode.output(0).setType(TensorType.of(DataType.FLOAT, 4));
        g.addOutput(ifNode.output(0));
        Model m = new Model(8, g);
        m.opsets().put("", 17L);
        return m;
    }

    private static float[] runIf(Path model, boolean cond, float[] x) throws OrtException {
        try (OrtSession s = session(model);
             OnnxTensor xv = floatInput(s, x);
             OnnxTensor cv = OnnxTensor.createTensor(env, cond);
             OrtSession.Result r = s.run(Map.of("x", xv, "cond", cv))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    /** x as the model's input "x" wants it: float32, or float16 after conversion. */
    private static OnnxTensor floatInput(OrtSession s, float[] x) throws OrtException {
        return isFloat16(s.getInputInfo().get("x"))
                ? OnnxTensor.createTensor(env, halves(x), new long[] {x.length}, OnnxJavaType.FLOAT16)
                : OnnxTensor.createTensor(env, x);
    }

    private static boolean isFloat16(NodeInfo info) {
        return info.getInfo() instanceof TensorInfo t && t.type == OnnxJavaType.FLOAT16;
    }

    private static ShortBuffer halves(float[] x) {
        ShortBuffer b = ShortBuffer.allocate(x.length);
        for (float f : x) {
            b.put(FloatBits.toHalf(f));
        }
        return b.flip();
    }

    @Test
    void modelWithIfSubgraphsRunsAfterConversion() throws Exception {
        Path fp32 = WORK.resolve("if-fp32.onnx");
        ModelWriter.write(ifModel(), fp32);
        Path fp16 = convert(fp32, "if-fp16.onnx", Fp16Options.defaults().withNodeBlockList(Set.of("elseSlow")));
        float[] x = {1.5f, -2f, 0.125f, 100f};
        for (boolean cond : new boolean[] {true, false}) {
            float[] want = runIf(fp32, cond, x);
            float[] got = runIf(fp16, cond, x);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 2e-3 * Math.abs(want[i]) + 1e-4, "cond " + cond + " element " + i);
            }
        }
    }

    /** y = x * W^3 computed by a Loop whose body reads W from the outer graph. */
    private static Model loopModel() {
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT, 4));
        Value w = g.addInitializer("W", ArrayTensor.ofFloats(new long[] {4}, 0.5f, 2f, -1.5f, 1.01f));
        Value trips = g.addInitializer("M", ArrayTensor.ofLongs(new long[0], 3));
        Value cond = g.addInitializer("cond", new ArrayTensor(DataType.BOOL, new long[0],
                java.nio.ByteBuffer.wrap(new byte[] {1})));
        Graph body = g.newSubgraph();
        body.setName("body");
        body.addInput("i", TensorType.of(DataType.INT64));
        Value c = body.addInput("c", TensorType.of(DataType.BOOL));
        Value acc = body.addInput("acc", TensorType.of(DataType.FLOAT, 4));
        Node keep = body.addNode("Identity", "", "keep", List.of(c), List.of("cOut"));
        keep.output(0).setType(TensorType.of(DataType.BOOL));
        Node mul = body.addNode("Mul", "", "step", List.of(acc, w), List.of("accOut"));
        mul.output(0).setType(TensorType.of(DataType.FLOAT, 4));
        body.addOutput(keep.output(0));
        body.addOutput(mul.output(0));
        Node loop = g.addNode("Loop", "", "loop", List.of(trips, cond, x), List.of("y"));
        loop.setAttribute(new Attribute("body", Attribute.Kind.GRAPH, body, "", ""));
        loop.output(0).setType(TensorType.of(DataType.FLOAT, 4));
        g.addOutput(loop.output(0));
        Model m = new Model(8, g);
        m.opsets().put("", 17L);
        return m;
    }

    private static float[] runLoop(Path model, float[] x) throws OrtException {
        try (OrtSession s = session(model);
             OnnxTensor xv = floatInput(s, x);
             OrtSession.Result r = s.run(Map.of("x", xv))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    @Test
    void modelWithLoopRunsAfterConversion() throws Exception {
        Path fp32 = WORK.resolve("loop-fp32.onnx");
        ModelWriter.write(loopModel(), fp32);
        Path fp16 = convert(fp32, "loop-fp16.onnx", Fp16Options.defaults());
        Path kept = convert(fp32, "loop-fp32-body.onnx", Fp16Options.defaults().withOpBlockList(Set.of("Loop")));
        float[] x = {1.5f, -2f, 0.125f, 100f};
        float[] want = runLoop(fp32, x);
        for (Path p : List.of(fp16, kept)) {
            float[] got = runLoop(p, x);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 4e-3 * Math.abs(want[i]) + 1e-4, p.getFileName() + " element " + i);
            }
        }
    }
}
