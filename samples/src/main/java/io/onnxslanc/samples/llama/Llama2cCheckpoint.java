package io.onnxslanc.samples.llama;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A llama2.c checkpoint ("version 0" format): seven little-endian int32 (dim, hidden_dim, n_layers,
 * n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is stored
 * separately at the end), then the float32 weights, two legacy RoPE tables that are skipped, and
 * the optional classifier. Weights are memory-mapped region by region, never copied whole.
 */
public final class Llama2cCheckpoint implements LlamaWeights, AutoCloseable {

    static final int HEADER_BYTES = 7 * Integer.BYTES;
    /** Largest region mapped at once when streaming rows (a mapping cannot exceed 2 GiB). */
    private static final long MAX_ROWS_BYTES = 64L << 20;

    private final Path file;
    private final FileChannel channel;
    private final LlamaConfig config;

    private Llama2cCheckpoint(Path file, FileChannel channel, LlamaConfig config) {
        this.file = file;
        this.channel = channel;
        this.config = config;
    }

    /** Opens and validates the checkpoint; throws {@link Llama2cFormatException} for a malformed file. */
    public static Llama2cCheckpoint open(Path file) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            LlamaConfig config = readAndValidateHeader(file, ch);
            return new Llama2cCheckpoint(file, ch, config);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static LlamaConfig readAndValidateHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < HEADER_BYTES) {
            throw new Llama2cFormatException(file, "truncated llama2.c checkpoint: " + size
                    + " bytes, shorter than the " + HEADER_BYTES + "-byte header");
        }
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        while (h.hasRemaining()) {
            if (ch.read(h, h.position()) < 0) throw new Llama2cFormatException(file, "truncated llama2.c header");
        }
        h.flip();
        int dim = h.getInt(), hidden = h.getInt(), layers = h.getInt(), heads = h.getInt(),
                kvHeads = h.getInt(), vocab = h.getInt(), seqLen = h.getInt();
        String header = String.format("dim=%d hidden_dim=%d n_layers=%d n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d",
                dim, hidden, layers, heads, kvHeads, vocab, seqLen);
        LlamaConfig config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, Math.abs(vocab), seqLen, vocab > 0);
        String problem = vocab == Integer.MIN_VALUE ? "vocab_size out of range" : config.problem();
        if (problem != null) {
            throw new Llama2cFormatException(file, "not a llama2.c checkpoint, nonsensical header (" + header + "): " + problem);
        }
        long expected;
        try {
            expected = expectedFileSize(config);
        } catch (ArithmeticException e) {
            throw new Llama2cFormatException(file, "not a llama2.c checkpoint, nonsensical header (" + header + "): implies more than 2^63 bytes");
        }
        if (size != expected) {
            LlamaConfig other = new LlamaConfig(dim, hidden, layers, heads, kvHeads, Math.abs(vocab), seqLen, vocab <= 0);
            String hint = size == expectedFileSizeOrZero(other)
                    ? "; the size would fit a " + (other.sharedClassifier() ? "shared" : "separately stored")
                      + " classifier (sign of vocab_size)" : "";
            String what = size < expected ? "truncated llama2.c checkpoint" : "llama2.c header disagrees with the file size";
            throw new Llama2cFormatException(file, what + ": header (" + header + ") implies " + expected
                    + " bytes, file has " + size + hint);
        }
        return config;
    }

    /** Header, weights, the two legacy RoPE tables, and the classifier when it is not shared. */
    public static long expectedFileSize(LlamaConfig c) {
        long floats = 0;
        for (LlamaTensor t : LlamaTensor.values()) {
            if (t == LlamaTensor.CLASSIFIER) continue;
            floats = Math.addExact(floats, Math.multiplyExact(t.perLayer() ? c.nLayers() : 1, elements(t, c)));
        }
        floats = Math.addExact(floats, 2L * c.maxSeqLen() * (c.headSize() / 2));
        if (!c.sharedClassifier()) floats = Math.addExact(floats, elements(LlamaTensor.CLASSIFIER, c));
        return Math.addExact(HEADER_BYTES, Math.multiplyExact(4, floats));
    }

    private static long expectedFileSizeOrZero(LlamaConfig c) {
        try {
            return expectedFileSize(c);
        } catch (ArithmeticException e) {
            return 0;
        }
    }

    private static long elements(LlamaTensor t, LlamaConfig c) {
        long n = 1;
        for (long d : t.onnxDims(c)) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Offset in floats, after the header, of one tensor (of one layer) in the checkpoint's order. */
    private long floatOffset(LlamaTensor target, int layer) {
        long offset = 0;
        for (LlamaTensor t : LlamaTensor.values()) {
            if (t == LlamaTensor.CLASSIFIER) break;
            long n = elements(t, config);
            if (t == target) return offset + (t.perLayer() ? layer * n : 0);
            offset += (t.perLayer() ? config.nLayers() : 1) * n;
        }
        if (target == LlamaTensor.CLASSIFIER && !config.sharedClassifier()) {
            return offset + 2L * config.maxSeqLen() * (config.headSize() / 2);
        }
        throw new IllegalArgumentException(file + ": the classifier is shared with the token embedding, not stored");
    }

    public Path file() {
        return file;
    }

    @Override
    public LlamaConfig config() {
        return config;
    }

    /** Maps count floats starting at the given float offset after the header (count * 4 must be < 2 GiB). */
    FloatBuffer map(long floatOffset, long count) throws IOException {
        long bytes = 4 * count;
        if (bytes > Integer.MAX_VALUE) throw new IOException(file + ": region of " + bytes + " bytes is too large to map at once");
        MappedByteBuffer mb = channel.map(FileChannel.MapMode.READ_ONLY, HEADER_BYTES + 4 * floatOffset, bytes);
        return mb.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    /**
     * The weight in ONNX layout: embeddings and gains as stored; linear layers (stored out x in)
     * transposed to the MatMul layout [in, out].
     */
    @Override
    public TensorValues values(LlamaTensor tensor, int layer) {
        if (tensor.perLayer() && (layer < 0 || layer >= config.nLayers())) {
            throw new IndexOutOfBoundsException("layer " + layer + " of " + config.nLayers());
        }
        long[] dims = tensor.onnxDims(config);
        long offset = floatOffset(tensor, layer);
        return tensor.isMatMulWeight() ? transposed(dims, offset) : asStored(dims, offset);
    }

    private TensorValues asStored(long[] dims, long offset) {
        return new TensorValues() {
            @Override public long[] dims() { return dims.clone(); }
            @Override public void writeTo(FloatChunkSink sink) throws IOException {
                long total = elementCount();
                long rowLen = dims[dims.length - 1];
                long rowsPerChunk = Math.max(1, MAX_ROWS_BYTES / (4 * rowLen));
                for (long done = 0; done < total; ) {
                    long n = Math.min(total - done, rowsPerChunk * rowLen);
                    sink.accept(map(offset + done, n));
                    done += n;
                }
            }
        };
    }

    /** dims = [in, out]; the checkpoint holds W as [out, in]. Transposes block by block. */
    private TensorValues transposed(long[] dims, long offset) {
        int in = Math.toIntExact(dims[0]), out = Math.toIntExact(dims[1]);
        return new TensorValues() {
            @Override public long[] dims() { return dims.clone(); }
            @Override public void writeTo(FloatChunkSink sink) throws IOException {
                FloatBuffer w = map(offset, (long) in * out);
                int block = Math.max(1, Math.min(in, (1 << 20) / out));
                float[] rows = new float[block * out];
                float[] wRow = new float[block];
                for (int i0 = 0; i0 < in; i0 += block) {
                    int bs = Math.min(block, in - i0);
                    for (int o = 0; o < out; o++) {
                        w.get((int) ((long) o * in + i0), wRow, 0, bs);
                        for (int i = 0; i < bs; i++) rows[i * out + o] = wRow[i];
                    }
                    sink.accept(FloatBuffer.wrap(rows, 0, bs * out));
                }
            }
        };
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return "llama2.c checkpoint " + file + " " + config;
    }
}
