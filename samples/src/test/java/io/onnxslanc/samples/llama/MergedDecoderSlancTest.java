package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SLaNC on stories260K as an Optimum-style merged decoder (issue 18): the norms of both If branches are calibrated
 * with exactly the scales of the plain imported model (the independent reference: the same weights in a graph
 * without subgraphs), the report names each norm's branch, and with power-of-two scales the FP32 outputs (logits and
 * present.*) of the calibrated model are bit-identical to the unmodified merged model in ONNX Runtime on both
 * branches: use_cache_branch false with an empty past, and true with the past of that first call. The SLaNC + FP16
 * model loads and runs on both branches in ONNX Runtime's CPU provider.
 */
class MergedDecoderSlancTest {
    private static final Path DIR = Path.of("target", "merged-slanc");
    private static final String THEN = "If '" + MergedDecoderBuilder.IF_NODE + "' then_branch";
    private static final String ELSE = "If '" + MergedDecoderBuilder.IF_NODE + "' else_branch";
    private static final int PREFIX = 12;

    static int[] tokens;
    static LlamaConfig config;

    @BeforeAll
    static void load() throws IOException {
        ReferenceLlama reference = ReferenceLlama.fromLlama2c(TestData.stories260K());
        tokens = Arrays.copyOf(Llama2cVocab.read(TestData.tok512(), reference.vocab)
                .encode(Llama2cImporterTest.textPrefix(300)), 20);
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(TestData.stories260K())) {
            config = ckpt.config();
        }
        Files.createDirectories(DIR);
    }

    @ParameterizedTest
    @EnumSource(NormStyle.class)
    void bothBranchesGetThePlainModelsScales(NormStyle style) throws IOException {
        ImportOptions opts = ImportOptions.defaults().withNormStyle(style);
        for (SlancOptions options : List.of(SlancOptions.defaults().withDryRun(true),
                SlancOptions.defaults().withPowerOfTwo(false).withDryRun(true))) {
            CalibrationReport plain = Slanc.calibrate(read(Llama2cImporter.importCheckpoint(TestData.stories260K(), opts),
                    "plain-" + style), options);
            CalibrationReport merged = Slanc.calibrate(read(Llama2cImporter.importMergedDecoder(TestData.stories260K(),
                    opts), "merged-" + style), options);
            System.out.print(style + " merged, power of two " + options.powerOfTwo() + ":\n" + merged.toTable());
            assertTrue(plain.norms().stream().allMatch(n -> n.scale() != null), plain.toTable());
            assertEquals(2 * plain.norms().size(), merged.norms().size(), merged.toTable());
            for (String branch : List.of(THEN, ELSE)) {
                List<CalibrationReport.Norm> inBranch = merged.norms().stream()
                        .filter(n -> branch.equals(n.subgraph())).toList();
                assertEquals(plain.norms().size(), inBranch.size(), branch + "\n" + merged.toTable());
                for (int i = 0; i < inBranch.size(); i++) {
                    CalibrationReport.Norm want = plain.norms().get(i);
                    CalibrationReport.Norm got = inBranch.get(i);
                    String what = style + " " + branch + " norm " + i + " " + got.name();
                    assertEquals(want.name(), got.name(), what);
                    assertEquals(want.block(), got.block(), what);
                    assertNotNull(got.scale(), what + ": " + got.reason());
                    assertEquals(want.scale(), got.scale(), what); // exactly: the same weights, the same arithmetic
                    assertEquals(want.scaleUnrounded(), got.scaleUnrounded(), what);
                    assertEquals(want.epsilonAfter(), got.epsilonAfter(), what);
                }
            }
            assertTrue(merged.warnings().stream().noneMatch(w -> w.contains("read gain")), merged.warnings().toString());
        }
    }

    @ParameterizedTest
    @EnumSource(NormStyle.class)
    void powerOfTwoScalesLeaveBothBranchesBitIdenticalAndFp16Runs(NormStyle style) throws IOException, OrtException {
        ModelProto proto = Llama2cImporter.importMergedDecoder(TestData.stories260K(),
                ImportOptions.defaults().withNormStyle(style));
        Path original = DIR.resolve("merged-" + style + ".onnx");
        Llama2cImporter.write(proto, original);
        Model model = ModelReader.read(original);
        CalibrationReport report = Slanc.calibrate(model, SlancOptions.defaults());
        assertEquals(0, report.norms().stream().filter(n -> n.scale() == null).count(), report.toTable());
        assertTrue(report.norms().stream().filter(n -> !n.block().equals("first")).allMatch(n -> n.scale() != 1.0),
                "a non-first norm kept s = 1, nothing to show:\n" + report.toTable());
        Path calibrated = DIR.resolve("merged-" + style + ".slanc.onnx");
        ModelWriter.write(model, calibrated);

        try (OrtSession a = session(original, OptLevel.NO_OPT); OrtSession b = session(calibrated, OptLevel.NO_OPT)) {
            Map<String, float[]> firstA = run(a, Arrays.copyOf(tokens, PREFIX), Map.of(), 0, false);
            Map<String, float[]> firstB = run(b, Arrays.copyOf(tokens, PREFIX), Map.of(), 0, false);
            assertBitIdentical(style + " use_cache_branch false", firstA, firstB);
            Map<String, float[]> past = present(firstA);
            Map<String, float[]> cachedA = run(a, Arrays.copyOfRange(tokens, PREFIX, tokens.length), past, PREFIX, true);
            Map<String, float[]> cachedB = run(b, Arrays.copyOfRange(tokens, PREFIX, tokens.length), past, PREFIX, true);
            assertBitIdentical(style + " use_cache_branch true", cachedA, cachedB);
        }

        Model half = ModelReader.read(calibrated);
        Fp16Converter.convert(half, Fp16Options.defaults().withKeepAllIoTypes(true)); // fed and read as FP32
        Path fp16 = DIR.resolve("merged-" + style + ".slanc.fp16.onnx");
        ModelWriter.write(half, fp16);
        try (OrtSession ref = session(original, OptLevel.BASIC_OPT); OrtSession h = session(fp16, OptLevel.BASIC_OPT)) {
            Map<String, float[]> firstRef = run(ref, Arrays.copyOf(tokens, PREFIX), Map.of(), 0, false);
            Map<String, float[]> firstHalf = run(h, Arrays.copyOf(tokens, PREFIX), Map.of(), 0, false);
            assertClose(style + " FP16 use_cache_branch false", firstRef, firstHalf);
            Map<String, float[]> past = present(firstRef);
            assertClose(style + " FP16 use_cache_branch true",
                    run(ref, Arrays.copyOfRange(tokens, PREFIX, tokens.length), past, PREFIX, true),
                    run(h, Arrays.copyOfRange(tokens, PREFIX, tokens.length), past, PREFIX, true));
        }
    }

    private static Model read(ModelProto proto, String name) throws IOException {
        Path file = DIR.resolve(name + ".onnx");
        Llama2cImporter.write(proto, file);
        return ModelReader.read(file);
    }

    private static OrtSession session(Path model, OptLevel level) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(level);
            return OrtLlama.ENV.createSession(model.toString(), so);
        }
    }

    private static Map<String, float[]> present(Map<String, float[]> outputs) {
        Map<String, float[]> past = new HashMap<>();
        outputs.forEach((k, v) -> {
            if (k.startsWith("present.")) {
                past.put(k, v);
            }
        });
        return past;
    }

    /**
     * One run on batch 1: every float output flattened, by name. The past is given as present.* of an earlier call
     * (empty when pastLen is 0); input types and the FP16 model's outputs are FP32 (the converter keeps the I/O
     * types).
     */
    private static Map<String, float[]> run(OrtSession session, int[] ids, Map<String, float[]> past, int pastLen,
                                            boolean useCache) throws OrtException {
        int kv = config.nKvHeads();
        int hs = config.headSize();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            feeds.put("input_ids", OnnxTensor.createTensor(OrtLlama.ENV,
                    LongBuffer.wrap(Arrays.stream(ids).asLongStream().toArray()), new long[] {1, ids.length}));
            feeds.put(MergedDecoderBuilder.USE_CACHE_BRANCH, OnnxTensor.createTensor(OrtLlama.ENV, new boolean[] {useCache}));
            for (int l = 0; l < config.nLayers(); l++) {
                for (String kind : List.of("key", "value")) {
                    float[] data = past.getOrDefault("present." + l + "." + kind, new float[0]);
                    feeds.put("past_key_values." + l + "." + kind, OnnxTensor.createTensor(OrtLlama.ENV,
                            FloatBuffer.wrap(data), new long[] {1, kv, pastLen, hs}));
                }
            }
            Map<String, float[]> out = new LinkedHashMap<>();
            try (OrtSession.Result r = session.run(feeds)) {
                for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : r) {
                    FloatBuffer fb = ((OnnxTensor) e.getValue()).getFloatBuffer();
                    float[] copy = new float[fb.remaining()];
                    fb.get(copy);
                    out.put(e.getKey(), copy);
                }
            }
            return out;
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static void assertBitIdentical(String what, Map<String, float[]> before, Map<String, float[]> after) {
        assertEquals(before.keySet(), after.keySet(), what);
        assertTrue(before.containsKey("logits") && before.containsKey("present.0.key"), what + ": " + before.keySet());
        for (String name : before.keySet()) {
            float[] b = before.get(name);
            float[] a = after.get(name);
            assertEquals(b.length, a.length, what + " " + name);
            int[] bb = new int[b.length];
            int[] ab = new int[a.length];
            for (int i = 0; i < b.length; i++) {
                bb[i] = Float.floatToRawIntBits(b[i]);
                ab[i] = Float.floatToRawIntBits(a[i]);
            }
            assertArrayEquals(bb, ab, what + ": output " + name + " changed bits after SLaNC");
        }
    }

    /** Every output finite, with cosine >= 0.999 to the FP32 original. */
    private static void assertClose(String what, Map<String, float[]> reference, Map<String, float[]> half) {
        assertEquals(reference.keySet(), half.keySet(), what);
        List<String> problems = new ArrayList<>();
        for (String name : reference.keySet()) {
            float[] want = reference.get(name);
            float[] got = half.get(name);
            double dot = 0;
            double ww = 0;
            double gg = 0;
            for (int i = 0; i < want.length; i++) {
                if (!Float.isFinite(got[i])) {
                    problems.add(name + ": non-finite at " + i);
                    break;
                }
                dot += (double) want[i] * got[i];
                ww += (double) want[i] * want[i];
                gg += (double) got[i] * got[i];
            }
            double cosine = dot / Math.sqrt(ww * gg);
            System.out.printf(java.util.Locale.ROOT, "%s: %s cosine %.7f%n", what, name, cosine);
            if (!(cosine >= 0.999)) {
                problems.add(name + ": cosine " + cosine);
            }
        }
        if (!problems.isEmpty()) {
            fail(what + ": " + problems);
        }
    }
}
