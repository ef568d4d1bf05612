package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Generates clearly labelled synthetic Llama models (random weights of realistic scale, no training)
 * of any shape, e.g. with Llama-2-7B's dimensions for FP16-overflow and speed benchmarks.
 */
public final class SyntheticLlama {

    private SyntheticLlama() {}

    /**
     * Writes the model to out. With externalData all weights are streamed, tensor by tensor, into the
     * single file out + ".data" (64-byte aligned); without, they are inline (models below 2 GiB).
     * Written through temporary files and renamed; nothing partial is left behind on failure.
     */
    public static void write(Path out, SynthConfig cfg, boolean externalData) throws IOException {
        if (cfg.int4()) { // quantized while streaming: external data only
            ModelFiles.writeWithExternalData(out, store -> {
                Int4Store int4 = new Int4Store(store);
                return int4.finish(build(cfg, int4));
            });
            return;
        }
        if (!externalData) {
            ModelFiles.writeAtomically(build(cfg), out);
            return;
        }
        ModelFiles.writeWithExternalData(out, store -> build(cfg, store));
    }

    /** The model with inline weights (small configurations only). */
    public static ModelProto build(SynthConfig cfg) throws IOException {
        return build(cfg, new InlineInitializers());
    }

    private static ModelProto build(SynthConfig cfg, InitializerStore store) throws IOException {
        String doc = "SYNTHETIC Llama-architecture model with random weights (preset " + cfg.preset() + ", seed "
                + cfg.seed() + "): not trained, its outputs are meaningless text. For numerical and speed experiments only.";
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("synthetic", "true");
        meta.put("synthetic.preset", cfg.preset());
        meta.put("synthetic.seed", Long.toString(cfg.seed()));
        meta.put("synthetic.linear_std", Float.toString(cfg.linearStd()));
        meta.put("synthetic.gain_std", Float.toString(cfg.gainStd()));
        meta.put("synthetic.massive_channels", Arrays.toString(cfg.massiveChannels()));
        meta.put("synthetic.massive_scale", Float.toString(cfg.massiveScale()));
        return LlamaGraphBuilder.build(new SeededWeights(cfg), cfg.graph(), store, doc, meta);
    }

    /** Llama-2-7B-shaped model (27 GB of external data next to out), for benchmarks. */
    public static void writeLlama2_7b(Path out, NormStyle style) throws IOException {
        SynthConfig cfg = SynthConfig.preset("llama2-7b");
        write(out, cfg.withGraph(cfg.graph().withNormStyle(style)), true);
    }

    /** Usage: SyntheticLlama PRESET OUT.onnx [decomposed|decomposed_cast|fused] [--inline] [--past] [--seed=N] */
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: SyntheticLlama tiny|tiny-massive|llama2-7b OUT.onnx [decomposed|decomposed_cast|fused] [--inline] [--past] [--seed=N]");
            System.exit(2);
        }
        SynthConfig cfg = SynthConfig.preset(args[0]);
        boolean external = true;
        for (int i = 2; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--inline")) external = false;
            else if (a.equals("--past")) cfg = cfg.withGraph(cfg.graph().withPastKeyValues(true));
            else if (a.startsWith("--seed=")) cfg = cfg.withSeed(Long.parseLong(a.substring(7)));
            else cfg = cfg.withGraph(cfg.graph().withNormStyle(NormStyle.valueOf(a.toUpperCase(Locale.ROOT))));
        }
        write(Path.of(args[1]), cfg, external);
    }
}
