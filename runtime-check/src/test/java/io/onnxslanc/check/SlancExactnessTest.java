package io.onnxslanc.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.rewrite.SlancRewrite;
import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SLaNC leaves an FP32 model's outputs unchanged: all-MiniLM-L6-v2 (post-norm BERT, 13 decomposed LayerNorms)
 * before and after calibration, run by ONNX Runtime on real WordPiece ids, agree to 1e-5 relative error.
 */
class SlancExactnessTest {
    private static final Path DIR = Path.of("target", "slanc-exactness");
    /** bert-base-uncased WordPiece ids (the MiniLM vocabulary), [CLS] ... [SEP]. */
    private static final long[][] SENTENCES = {
            {101, 1996, 4937, 2938, 2006, 1996, 13523, 102}, // the cat sat on the mat
            {101, 1037, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 102}, // a quick brown fox jumps over the lazy dog
            {101, 10763, 10250, 12322, 8156, 7906, 2296, 6741, 10713, 102}, // static calibration keeps every layer finite
    };

    private static Path original;
    private static Path calibrated;
    private static CalibrationReport report;

    @BeforeAll
    static void calibrate() throws IOException {
        Files.createDirectories(DIR);
        original = DIR.resolve("all-minilm-l6-v2.onnx");
        try (InputStream in = SlancExactnessTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            assertNotNull(in, "all-minilm-l6-v2.onnx not on the test classpath");
            Files.copy(in, original, StandardCopyOption.REPLACE_EXISTING);
        }
        Model model = ModelReader.read(original);
        report = Slanc.calibrate(model, SlancOptions.defaults());
        calibrated = DIR.resolve("all-minilm-l6-v2.slanc.onnx");
        ModelWriter.write(model, calibrated);
        System.out.print(report.toTable());
    }

    @Test
    void allThirteenNormsAreFoundAndScaled() {
        assertEquals(13, report.norms().size());
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("first", 1);
        expected.put("attention", 6);
        expected.put("mlp", 5);
        expected.put("final", 1);
        assertEquals(expected, report.blockCounts());
        Model written = ModelReader.read(calibrated);
        long muls = written.graph().nodes().stream()
                .filter(n -> n.is("Mul") && n.name().startsWith(SlancRewrite.MUL_PREFIX)).count();
        assertEquals(13, muls, "one Mul in front of every norm (the first one scaled from the embedding tables, the default)");
        assertEquals(SlancRewrite.VERSION, written.metadata().get(SlancRewrite.MARKER));
        for (CalibrationReport.Norm n : report.norms()) {
            assertNotNull(n.scale(), n.name() + ": " + n.reason());
            if (!n.block().equals("first")) {
                assertTrue(n.scale() > 1, n.name() + " s = " + n.scale()); // BERT residual streams are larger than 1
                assertEquals(n.epsilonBefore() / (n.scale() * n.scale()), n.epsilonAfter(), 1e-6 * n.epsilonAfter());
            }
        }
    }

    @Test
    void outputsAreUnchangedWithoutOptimisations() throws OrtException {
        assertSameOutputs(OrtSession.SessionOptions.OptLevel.NO_OPT);
    }

    @Test
    void outputsAreUnchangedWithBasicOptimisations() throws OrtException {
        assertSameOutputs(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
    }

    private static void assertSameOutputs(OrtSession.SessionOptions.OptLevel level) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(level);
            try (OrtSession before = env.createSession(original.toString(), options);
                 OrtSession after = env.createSession(calibrated.toString(), options)) {
                for (long[] ids : SENTENCES) {
                    Map<String, float[]> a = run(env, before, ids);
                    Map<String, float[]> b = run(env, after, ids);
                    assertEquals(a.keySet(), b.keySet());
                    for (String name : a.keySet()) {
                        double err = relativeError(a.get(name), b.get(name));
                        System.out.printf("%s %s, %d tokens: max |after - before| / max |before| = %.3e%n",
                                level, name, ids.length, err);
                        assertTrue(err <= 1e-5, level + " output " + name + ": relative error " + err);
                    }
                }
            }
        }
    }

    private static Map<String, float[]> run(OrtEnvironment env, OrtSession session, long[] ids) throws OrtException {
        long[] mask = new long[ids.length];
        java.util.Arrays.fill(mask, 1);
        long[] types = new long[ids.length];
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            for (String name : session.getInputNames()) {
                long[] data = switch (name) {
                    case "input_ids" -> ids;
                    case "attention_mask" -> mask;
                    case "token_type_ids" -> types;
                    default -> throw new IllegalStateException("unexpected MiniLM input " + name);
                };
                inputs.put(name, OnnxTensor.createTensor(env, new long[][] {data}));
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            try (OrtSession.Result result = session.run(inputs)) {
                for (Map.Entry<String, OnnxValue> e : result) {
                    FloatBuffer fb = ((OnnxTensor) e.getValue()).getFloatBuffer();
                    float[] f = new float[fb.remaining()];
                    fb.get(f);
                    out.put(e.getKey(), f);
                }
            }
            return out;
        } finally {
            for (OnnxTensor t : inputs.values()) {
                t.close();
            }
        }
    }

    /** Max absolute difference relative to the largest magnitude of the reference output. */
    private static double relativeError(float[] reference, float[] candidate) {
        assertEquals(reference.length, candidate.length);
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < reference.length; i++) {
            assertTrue(Float.isFinite(candidate[i]));
            maxDiff = Math.max(maxDiff, Math.abs((double) candidate[i] - reference[i]));
            maxRef = Math.max(maxRef, Math.abs(reference[i]));
        }
        return maxDiff / maxRef;
    }
}
