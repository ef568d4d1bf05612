package io.onnxslanc.samples.llama;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Random weights that depend only on (seed, tensor name, position), generated chunk by chunk
 * (in parallel, then emitted in order), so that a 27 GB model can be streamed in bounded memory.
 */
final class SeededWeights implements LlamaWeights {

    /** Values per chunk; each chunk has its own random stream, so chunks can be drawn in parallel. */
    static final int CHUNK = 1 << 20;
    private static final int CHUNKS_PER_BATCH = 8;

    private final SynthConfig cfg;
    private final boolean[] massive;

    SeededWeights(SynthConfig cfg) {
        this.cfg = cfg;
        this.massive = new boolean[cfg.llama().dim()];
        for (int ch : cfg.massiveChannels()) massive[ch] = true;
    }

    @Override
    public LlamaConfig config() {
        return cfg.llama();
    }

    @Override
    public TensorValues values(LlamaTensor tensor, int layer) {
        long[] dims = tensor.onnxDims(cfg.llama());
        String name = tensor.onnxName(layer);
        long seed = mix(cfg.seed(), name);
        boolean gain = switch (tensor) {
            case ATTENTION_NORM, FFN_NORM, FINAL_NORM -> true;
            default -> false;
        };
        // output channel = column in ONNX layout ([vocab, dim] for the embedding, [ffn, dim] for W_down)
        boolean massiveColumns = tensor == LlamaTensor.TOKEN_EMBEDDING || tensor == LlamaTensor.W2;
        int cols = (int) dims[dims.length - 1];
        return new TensorValues() {
            @Override public long[] dims() { return dims.clone(); }
            @Override public void writeTo(FloatChunkSink sink) throws IOException {
                long total = elementCount();
                long chunks = (total + CHUNK - 1) / CHUNK;
                float[][] buffers = new float[(int) Math.min(CHUNKS_PER_BATCH, chunks)][];
                for (long first = 0; first < chunks; first += CHUNKS_PER_BATCH) {
                    int n = (int) Math.min(CHUNKS_PER_BATCH, chunks - first);
                    long batchStart = first;
                    IntStream.range(0, n).parallel().forEach(k -> {
                        long chunk = batchStart + k;
                        int len = (int) Math.min(CHUNK, total - chunk * CHUNK);
                        if (buffers[k] == null || buffers[k].length < len) buffers[k] = new float[len];
                        fill(buffers[k], len, chunk * CHUNK, new SplittableRandom(seed ^ (chunk * 0x9E3779B97F4A7C15L)),
                                gain, massiveColumns, cols);
                    });
                    for (int k = 0; k < n; k++) {
                        int len = (int) Math.min(CHUNK, total - (first + k) * CHUNK);
                        sink.accept(FloatBuffer.wrap(buffers[k], 0, len));
                    }
                }
            }
        };
    }

    private void fill(float[] out, int len, long start, SplittableRandom rnd, boolean gain, boolean massiveColumns, int cols) {
        if (gain) {
            for (int i = 0; i < len; i++) out[i] = (float) (1 + cfg.gainStd() * rnd.nextGaussian());
            return;
        }
        double std = cfg.linearStd(), big = std * cfg.massiveScale();
        int col = (int) (start % cols);
        for (int i = 0; i < len; i++) {
            double s = massiveColumns && massive[col] ? big : std;
            out[i] = (float) (s * rnd.nextGaussian());
            if (++col == cols) col = 0;
        }
    }

    /** A 64-bit seed for one tensor (FNV-1a over the name, then SplitMix64 finalisation). */
    static long mix(long seed, String name) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xff)) * 0x100000001b3L;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        return h ^ (h >>> 33);
    }
}
