package io.onnxslanc.samples.llama;

import java.util.Arrays;
import java.util.Locale;

/**
 * What a synthetic Llama looks like: its shape, graph options, and how its random weights are drawn.
 *
 * @param preset          a label recorded in the model's metadata
 * @param llama           the shape
 * @param graph           graph options (norm style, epsilon, KV cache)
 * @param seed            every weight is a function of (seed, tensor name) only
 * @param linearStd       standard deviation of embedding, linear and classifier weights
 * @param gainStd         norm gains are 1 + N(0, gainStd)
 * @param massiveChannels hidden channels whose embedding column and W_down output column get
 *                        massiveScale times the normal standard deviation, in every layer, to imitate
 *                        the "massive activations" of real LLMs
 * @param massiveScale    the factor for those channels
 */
public record SynthConfig(String preset, LlamaConfig llama, ImportOptions graph, long seed, float linearStd,
                          float gainStd, int[] massiveChannels, float massiveScale) {

    public SynthConfig {
        llama.validated();
        massiveChannels = massiveChannels.clone();
        for (int ch : massiveChannels) {
            if (ch < 0 || ch >= llama.dim()) throw new IllegalArgumentException("massive channel " + ch + " outside [0, " + llama.dim() + ")");
        }
        if (!(linearStd > 0) || !(gainStd >= 0) || !(massiveScale > 0)) {
            throw new IllegalArgumentException("linearStd and massiveScale must be > 0, gainStd >= 0");
        }
    }

    @Override
    public int[] massiveChannels() {
        return massiveChannels.clone();
    }

    /**
     * "tiny": 2 layers, hidden 64, ffn 176, 4 heads / 2 kv heads, vocab 256, 128 positions, separate
     * classifier. "tiny-massive": the same with 2 massive channels (x100). "llama2-7b": Llama-2-7B's
     * shape (32 layers, hidden 4096, ffn 11008, 32 heads, 32 kv heads, vocab 32000, 4096 positions,
     * separate classifier; 6.7e9 parameters, 27 GB in float32) with massive channels 1415 and 2533
     * (x100), the channels where Llama-2-7B has them. "tinyllama-1.1b": TinyLlama-1.1B's shape (22 layers, hidden
     * 2048, ffn 5632, 32 heads, 4 kv heads, vocab 32000, 2048 positions) with the classifier tied to the embedding:
     * 1.03e9 parameters, 4.1 GB in float32, and 2.07 GB in float16, just inside the inline limit, so the converted
     * model is one .onnx file (the case where a writer that builds the protobuf in memory needs over 2 GB of heap). "tiny-int4" and "llama2-7b-int4": the
     * same as tiny / llama2-7b with every linear weight quantized to 4 bits (com.microsoft MatMulNBits, block 32, zero
     * points; 7B: ~3.9 GB).
     */
    public static SynthConfig preset(String name) {
        ImportOptions opts = ImportOptions.defaults();
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> new SynthConfig("tiny", new LlamaConfig(64, 176, 2, 4, 2, 256, 128, false),
                    opts, 42, 0.02f, 0.05f, new int[0], 1f);
            case "tiny-massive" -> new SynthConfig("tiny-massive", new LlamaConfig(64, 176, 2, 4, 2, 256, 128, false),
                    opts, 42, 0.02f, 0.05f, new int[] {7, 42}, 100f);
            case "llama2-7b" -> new SynthConfig("llama2-7b", new LlamaConfig(4096, 11008, 32, 32, 32, 32000, 4096, false),
                    opts, 42, 0.02f, 0.05f, new int[] {1415, 2533}, 100f);
            case "tinyllama-1.1b" -> new SynthConfig("tinyllama-1.1b", new LlamaConfig(2048, 5632, 22, 32, 4, 32000, 2048, true),
                    opts, 42, 0.02f, 0.05f, new int[0], 1f);
            // the same shapes with int4 linear weights (MatMulNBits, block 32): see SyntheticLlama.write
            case "tiny-int4" -> preset("tiny").renamed("tiny-int4");
            case "llama2-7b-int4" -> preset("llama2-7b").renamed("llama2-7b-int4");
            default -> throw new IllegalArgumentException("unknown synthetic Llama preset '" + name
                    + "' (tiny, tiny-massive, tinyllama-1.1b, llama2-7b, tiny-int4, llama2-7b-int4)");
        };
    }

    private SynthConfig renamed(String p) {
        return new SynthConfig(p, llama, graph, seed, linearStd, gainStd, massiveChannels, massiveScale);
    }

    /** Int4 presets write their linear weights as MatMulNBits (4 bits, block 32, zero points). */
    public boolean int4() {
        return preset.endsWith("-int4");
    }

    public SynthConfig withGraph(ImportOptions g) {
        return new SynthConfig(preset, llama, g, seed, linearStd, gainStd, massiveChannels, massiveScale);
    }

    public SynthConfig withSeed(long s) {
        return new SynthConfig(preset, llama, graph, s, linearStd, gainStd, massiveChannels, massiveScale);
    }

    public SynthConfig withMassive(int[] channels, float scale) {
        return new SynthConfig(preset, llama, graph, seed, linearStd, gainStd, channels, scale);
    }

    @Override
    public String toString() {
        return "SynthConfig[" + preset + ", " + llama + ", " + graph + ", seed=" + seed + ", linearStd=" + linearStd
                + ", gainStd=" + gainStd + ", massiveChannels=" + Arrays.toString(massiveChannels) + " x" + massiveScale + "]";
    }
}
