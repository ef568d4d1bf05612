package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Synthetic Llama generation: files, labelling, determinism, and the model computing the llama2.c forward. */
class SyntheticLlamaTest {

    @TempDir
    Path dir;

    @Test
    void tinyWithExternalDataRunsInOrtAndMatchesReference() throws Exception {
        SynthConfig cfg = SynthConfig.preset("tiny-massive").withGraph(ImportOptions.defaults().withNormStyle(NormStyle.FUSED));
        Path out = dir.resolve("tiny.onnx");
        SyntheticLlama.write(out, cfg, true);
        try (var files = Files.list(dir)) {
            assertEquals(List.of("tiny.onnx", "tiny.onnx.data"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        ModelProto model = ModelProto.parseFrom(Files.readAllBytes(out));
        assertTrue(model.getDocString().contains("SYNTHETIC"), model.getDocString());
        Map<String, String> meta = new HashMap<>();
        for (StringStringEntryProto e : model.getMetadataPropsList()) meta.put(e.getKey(), e.getValue());
        assertEquals("true", meta.get("synthetic"));
        assertEquals("tiny-massive", meta.get("synthetic.preset"));

        long dataSize = Files.size(dir.resolve("tiny.onnx.data"));
        long weightBytes = 0;
        for (TensorProto t : model.getGraph().getInitializerList()) {
            assertEquals(TensorProto.DataLocation.EXTERNAL, t.getDataLocation(), t.getName());
            assertFalse(t.hasRawData());
            Map<String, String> ext = new HashMap<>();
            t.getExternalDataList().forEach(e -> ext.put(e.getKey(), e.getValue()));
            assertEquals("tiny.onnx.data", ext.get("location"));
            long offset = Long.parseLong(ext.get("offset")), length = Long.parseLong(ext.get("length"));
            assertEquals(0, offset % 64, t.getName());
            assertEquals(4 * t.getDimsList().stream().reduce(1L, (a, b) -> a * b), length, t.getName());
            assertTrue(offset + length <= dataSize);
            weightBytes += length;
        }
        LlamaConfig c = cfg.llama();
        long ropeBytes = 2L * 4 * c.maxSeqLen() * c.headSize() / 2;
        assertEquals(4 * c.parameterCount() + ropeBytes, weightBytes);

        ReferenceLlama ref = ReferenceLlama.fromOnnx(model, dir, c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(),
                c.vocabSize(), c.maxSeqLen());
        int[] tokens = new Random(7).ints(40, 0, c.vocabSize()).toArray();
        double[][] expected = ref.forward(tokens, 1e-5, 10000);
        try (OrtLlama ort = OrtLlama.of(out)) {
            double err = OrtLlama.relativeError(ort.logits(tokens), expected);
            System.out.printf("synthetic tiny-massive FUSED, external data: max |ORT - float64 reference| / max |reference| = %.3g%n", err);
            assertTrue(err < 1e-4, "relative error " + err);
        }
    }

    @Test
    void inlineAndExternalHoldTheSameWeights() throws Exception {
        SynthConfig cfg = SynthConfig.preset("tiny");
        SyntheticLlama.write(dir.resolve("ext.onnx"), cfg, true);
        SyntheticLlama.write(dir.resolve("inline.onnx"), cfg, false);
        ModelProto ext = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("ext.onnx")));
        ModelProto inline = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("inline.onnx")));
        assertEquals(ext.getGraph().getNodeList(), inline.getGraph().getNodeList());
        for (int i = 0; i < ext.getGraph().getInitializerCount(); i++) {
            TensorProto a = ext.getGraph().getInitializer(i), b = inline.getGraph().getInitializer(i);
            assertEquals(a.getName(), b.getName());
            assertArrayEquals(ReferenceLlama.values(b, dir), ReferenceLlama.values(a, dir), a.getName());
        }
        int[] tokens = {1, 5, 9, 200, 3};
        try (OrtLlama e = OrtLlama.of(dir.resolve("ext.onnx")); OrtLlama n = OrtLlama.of(inline, OptLevel.ALL_OPT)) {
            assertArrayEquals(n.logits(tokens)[4], e.logits(tokens)[4]);
        }
    }

    @Test
    void weightsDependOnSeedOnlyAndHaveTheRequestedScales() throws IOException {
        SynthConfig cfg = SynthConfig.preset("tiny-massive");
        SeededWeights a = new SeededWeights(cfg), b = new SeededWeights(cfg), other = new SeededWeights(cfg.withSeed(43));
        float[] wa = Llama2cCheckpointTest.collect(a.values(LlamaTensor.W2, 1));
        assertArrayEquals(wa, Llama2cCheckpointTest.collect(b.values(LlamaTensor.W2, 1)));
        assertFalse(java.util.Arrays.equals(wa, Llama2cCheckpointTest.collect(other.values(LlamaTensor.W2, 1))));
        assertFalse(java.util.Arrays.equals(wa, Llama2cCheckpointTest.collect(a.values(LlamaTensor.W2, 0))));
        // W_down [ffn, dim]: columns 7 and 42 (massive output channels) have std 2, the rest 0.02
        int dim = cfg.llama().dim();
        double[] colRms = new double[dim];
        for (int i = 0; i < wa.length; i++) colRms[i % dim] += wa[i] * wa[i];
        int rows = wa.length / dim;
        for (int ch = 0; ch < dim; ch++) {
            double std = Math.sqrt(colRms[ch] / rows);
            double want = ch == 7 || ch == 42 ? 2.0 : 0.02;
            assertEquals(want, std, want * 0.25, "channel " + ch);
        }
        float[] gains = Llama2cCheckpointTest.collect(a.values(LlamaTensor.FFN_NORM, 0));
        for (float g : gains) assertTrue(Math.abs(g - 1) < 0.3, "gain " + g);
    }

    @Test
    void failedWriteLeavesNothingBehind() throws IOException {
        Path out = dir.resolve("broken.onnx");
        IOException e = assertThrows(IOException.class, () -> ModelFiles.writeWithExternalData(out, store -> {
            store.add("w", TensorValues.of(new long[] {4}, new float[] {1, 2, 3, 4}));
            throw new IOException("disk full (simulated)");
        }));
        assertEquals("disk full (simulated)", e.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.toList());
        }
    }

    @Test
    void presets() {
        LlamaConfig big = SynthConfig.preset("llama2-7b").llama();
        assertEquals(new LlamaConfig(4096, 11008, 32, 32, 32, 32000, 4096, false), big);
        assertEquals(6_738_415_616L, big.parameterCount()); // Llama-2-7B
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SynthConfig.preset("gpt5"));
        assertTrue(e.getMessage().contains("gpt5"));
    }
}
