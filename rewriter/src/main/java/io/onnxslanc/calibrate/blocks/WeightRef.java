package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Tensor;
import java.nio.ByteBuffer;

/**
 * The weight W of a linear layer y = W x (math layout, [out x in]) as it is stored in the model.
 *
 * @param name          the initializer (or Constant output) holding the data
 * @param tensor        its data, read lazily
 * @param storedRows    rows of the stored row-major matrix (after any Reshape in front of the layer)
 * @param storedCols    columns of the stored matrix
 * @param storedIsMath  true when the stored matrix is W itself (Gemm transB=1, initializer behind a Transpose);
 *                      false when it is W^T, the usual ONNX MatMul B operand
 * @param outFrom       first math row used: a packed QKV weight contributes only its V rows
 * @param outTo         one past the last math row used
 */
public record WeightRef(String name, Tensor tensor, int storedRows, int storedCols, boolean storedIsMath,
                        int outFrom, int outTo) {

    public WeightRef {
        int total = storedIsMath ? storedRows : storedCols;
        if (outFrom < 0 || outTo > total || outFrom >= outTo) {
            throw new IllegalArgumentException("weight '" + name + "': rows [" + outFrom + ", " + outTo
                    + ") outside its " + total + " outputs");
        }
    }

    /** The whole weight. */
    static WeightRef whole(String name, Tensor tensor, int storedRows, int storedCols, boolean storedIsMath) {
        return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, 0, storedIsMath ? storedRows : storedCols);
    }

    /** The same weight restricted to math rows [from, to) of the current selection. */
    WeightRef rows(int from, int to) {
        return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, outFrom + from, outFrom + to);
    }

    /** Output features of the selection (math rows). */
    public int outFeatures() {
        return outTo - outFrom;
    }

    /** Output features of the whole stored weight. */
    public int totalOutFeatures() {
        return storedIsMath ? storedRows : storedCols;
    }

    public int inFeatures() {
        return storedIsMath ? storedCols : storedRows;
    }

    public boolean isPartial() {
        return outFeatures() != totalOutFeatures();
    }

    /** The kernels' element type of a float data type, null for others; public for the embedding bound's tables. */
    public static MatrixView.ElementType elementType(DataType t) {
        return switch (t) {
            case FLOAT -> MatrixView.ElementType.FLOAT32;
            case FLOAT16 -> MatrixView.ElementType.FLOAT16;
            case BFLOAT16 -> MatrixView.ElementType.BFLOAT16;
            default -> null;
        };
    }

    /**
     * Maps (or views) the data and presents W in the math layout. Close the result to unmap the region at once,
     * so that walking over a large model keeps only one block's weights resident.
     */
    public Loaded load() {
        if (tensor instanceof QuantizedWeight q) {
            return QuantizedLoad.load(this, q);
        }
        MatrixView.ElementType type = elementType(tensor.dataType());
        if (type == null) {
            throw new IllegalStateException("weight '" + name + "' is " + tensor.dataType() + ", not a float type");
        }
        ByteBuffer data = tensor.read();
        try {
            MatrixView stored = MatrixView.of(name, data, type, storedRows, storedCols);
            if (!isPartial()) {
                return new Loaded(storedIsMath ? stored : stored.transposed(), tensor, data);
            }
            if (storedIsMath) {
                // math rows are stored rows: a contiguous byte range, viewed without copying
                ByteBuffer rows = data.duplicate();
                rows.position(Math.multiplyExact(Math.multiplyExact(outFrom, storedCols), type.byteSize()));
                return new Loaded(MatrixView.of(name, rows.slice(), type, outFeatures(), storedCols), tensor, data);
            }
            // math rows are stored columns: copy the column block (checked for NaN on the way), then unmap
            MatrixView math = stored.transposed();
            int in = inFeatures();
            float[] copy = new float[Math.multiplyExact(outFeatures(), in)];
            int chunk = Math.max(1, (1 << 20) / in);
            double[] buf = new double[Math.min(outFeatures(), chunk) * in];
            for (int r0 = outFrom; r0 < outTo; r0 += chunk) {
                int r1 = Math.min(outTo, r0 + chunk);
                math.copyBlock(r0, r1, 0, in, buf);
                int base = (r0 - outFrom) * in;
                for (int i = 0; i < (r1 - r0) * in; i++) {
                    copy[base + i] = (float) buf[i]; // exact: every stored value is a float
                }
            }
            tensor.release(data);
            return new Loaded(MatrixView.ofFloats(name, copy, outFeatures(), in), null, null);
        } catch (RuntimeException e) {
            tensor.release(data);
            throw e;
        }
    }

    /** A weight in the math layout, holding its mapped region until closed. */
    public static final class Loaded implements AutoCloseable {
        private final MatrixView view;
        private final Tensor source;
        private ByteBuffer mapped;
        private AutoCloseable other; // regions of a quantized weight

        Loaded(MatrixView view, Tensor source, ByteBuffer mapped) {
            this.view = view;
            this.source = source;
            this.mapped = mapped;
        }

        /** A view holding other resources than one mapped buffer (the regions of a quantized weight). */
        static Loaded holding(MatrixView view, AutoCloseable regions) {
            Loaded l = new Loaded(view, null, null);
            l.other = regions;
            return l;
        }

        public MatrixView view() {
            return view;
        }

        @Override
        public void close() {
            if (mapped != null) {
                source.release(mapped);
                mapped = null;
            }
            if (other != null) {
                try {
                    other.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                } finally {
                    other = null;
                }
            }
        }
    }
}
