package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.math.DecodedLines;
import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Tensor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A quantized weight presented as the FLOAT matrix it dequantizes to, [rows x cols] row-major. It is never read
 * as bytes: {@link WeightRef#load()} asks {@link #lines} for a decoder over the mapped quantized data, and the
 * SLaNC kernels dequantize run by run. The report names the weight by its quantized initializer and says how it
 * was dequantized ({@link #how}).
 *
 * <p>Public because the scale side reads it: the report names how a weight was dequantized, and the first norm's
 * embedding bound maps a quantized table.
 */
public final class QuantizedWeight implements Tensor {
    private final List<Tensor> sources;
    private final Function<List<ByteBuffer>, DecodedLines> decoder;
    private final int rows;
    private final int cols;
    private final String how;

    /**
     * @param sources the tensors the decoder reads (packed data, scales, zero points; null entries allowed)
     * @param decoder builds the decoder from their bytes, in the same order (null for null sources)
     * @param how     e.g. "MatMulNBits 4-bit, block_size 32, uint8 zero points"
     */
    QuantizedWeight(List<Tensor> sources, Function<List<ByteBuffer>, DecodedLines> decoder, int rows, int cols, String how) {
        this.sources = new ArrayList<>(sources);
        this.decoder = decoder;
        this.rows = rows;
        this.cols = cols;
        this.how = how;
    }

    /** How the weight was dequantized; public for the calibration report's "dequantized" column. */
    public String how() {
        return how;
    }

    @Override
    public DataType dataType() {
        return DataType.FLOAT;
    }

    @Override
    public long[] dims() {
        return new long[] {rows, cols};
    }

    @Override
    public long byteSize() {
        return (long) rows * cols * 4;
    }

    /** Never materialised: a whole dequantized matrix of a large model must not be built. */
    @Override
    public ByteBuffer read() {
        throw new UnsupportedOperationException("a quantized weight (" + how + ") is dequantized on the fly, not read as bytes");
    }

    /**
     * Maps the sources and returns the stored [rows x cols] view plus what to release when done; public for the
     * first norm's embedding bound, which reads a quantized table's rows.
     */
    public Mapped map(String name) {
        List<ByteBuffer> mapped = new ArrayList<>();
        try {
            for (Tensor t : sources) {
                mapped.add(t == null ? null : t.read());
            }
            DecodedLines lines = decoder.apply(mapped);
            return new Mapped(MatrixView.ofDecoded(name, lines, rows, cols), lines, sources, mapped);
        } catch (RuntimeException e) {
            releaseAll(sources, mapped);
            throw e;
        }
    }

    /** The decoded stored view and the mapped regions behind it; public as the result of {@link #map}. */
    public record Mapped(MatrixView stored, DecodedLines lines, List<Tensor> sources, List<ByteBuffer> regions)
            implements AutoCloseable {
        @Override
        public void close() {
            releaseAll(sources, regions);
        }
    }

    /** Gives back the regions read so far, {@code regions.get(i)} to {@code sources.get(i)}. */
    private static void releaseAll(List<Tensor> sources, List<ByteBuffer> regions) {
        for (int i = 0; i < regions.size(); i++) {
            if (regions.get(i) != null) {
                sources.get(i).release(regions.get(i));
            }
        }
    }
}
