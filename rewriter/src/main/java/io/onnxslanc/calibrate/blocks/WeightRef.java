package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.io.ExternalTensor;
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
 * @param outTo         one past the last math row used (of the first group when {@code groups > 1})
 * @param groupStride   with {@code groups > 1}: the distance between the groups' first rows, else 0
 * @param groups        how many times the row range repeats, {@code groupStride} apart: a projection packed per
 *                      head (GPT-NeoX / BLOOM query_key_value, [q_h, k_h, v_h] for each head h) gives V as one
 *                      range in each head's group; 1 for a contiguous range
 * @param factor        a constant the layer's output is multiplied by before it joins the residual stream
 *                      (Granite's residual_multiplier), folded into W; 1 for none
 * @param rowScales     per-output constants the layer's output is multiplied by (LayerScale: DINOv2, CaiT),
 *                      folded into W as diag(rowScales) W; null for none
 */
public record WeightRef(String name, Tensor tensor, int storedRows, int storedCols, boolean storedIsMath,
                        int outFrom, int outTo, int groupStride, int groups, double factor, double[] rowScales) {

    public WeightRef {
        int total = storedIsMath ? storedRows : storedCols;
        long last = groups <= 1 ? outTo : outTo + (long) (groups - 1) * groupStride;
        if (outFrom < 0 || last > total || outFrom >= outTo || groups < 1
                || groups > 1 && groupStride < outTo - outFrom || !Double.isFinite(factor)
                || rowScales != null && rowScales.length != (outTo - outFrom) * groups) {
            throw new IllegalArgumentException("weight '" + name + "': rows [" + outFrom + ", " + outTo + ")"
                    + (groups > 1 ? " in " + groups + " groups " + groupStride + " apart" : "") + " outside its "
                    + total + " outputs");
        }
    }

    /** A contiguous row range [outFrom, outTo). */
    public WeightRef(String name, Tensor tensor, int storedRows, int storedCols, boolean storedIsMath, int outFrom,
                     int outTo) {
        this(name, tensor, storedRows, storedCols, storedIsMath, outFrom, outTo, 0, 1, 1.0, null);
    }

    /** A row selection repeated in groups, without a factor. */
    public WeightRef(String name, Tensor tensor, int storedRows, int storedCols, boolean storedIsMath, int outFrom,
                     int outTo, int groupStride, int groups) {
        this(name, tensor, storedRows, storedCols, storedIsMath, outFrom, outTo, groupStride, groups, 1.0, null);
    }

    /** The same selection with its output multiplied by {@code c} (on top of any factor it has). */
    WeightRef times(double c) {
        return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, outFrom, outTo, groupStride, groups,
                factor * c, rowScales);
    }

    /** The same selection with output row i multiplied by {@code scales[i]} (on top of any such scales). */
    WeightRef timesRows(double[] scales) {
        double[] combined = scales.clone();
        for (int i = 0; rowScales != null && i < combined.length; i++) {
            combined[i] *= rowScales[i];
        }
        return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, outFrom, outTo, groupStride, groups,
                factor, combined);
    }

    /** The whole weight. */
    static WeightRef whole(String name, Tensor tensor, int storedRows, int storedCols, boolean storedIsMath) {
        return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, 0, storedIsMath ? storedRows : storedCols);
    }

    /**
     * The same weight restricted to rows [from, to) of the current selection (in selection order); with groups,
     * only a range inside one group or a run of whole groups.
     */
    WeightRef rows(int from, int to) {
        if (rowScales != null) {
            throw new IllegalArgumentException("weight '" + name + "' is scaled per row; it is not cut further");
        }
        return factor == 1.0 ? unscaledRows(from, to) : unscaledRows(from, to).times(factor);
    }

    private WeightRef unscaledRows(int from, int to) {
        if (groups == 1) {
            return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, outFrom + from, outFrom + to);
        }
        int len = outTo - outFrom;
        if (from / len == (to - 1) / len) {
            int base = outFrom + from / len * groupStride;
            return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, base + from % len,
                    base + (to - 1) % len + 1);
        }
        if (from % len != 0 || to % len != 0) {
            throw new IllegalArgumentException("weight '" + name + "': rows [" + from + ", " + to
                    + ") cut across its groups of " + len);
        }
        return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, outFrom + from / len * groupStride,
                outTo + from / len * groupStride, groupStride, (to - from) / len);
    }

    /**
     * The current (contiguous) selection viewed as groups of {@code groupSize} rows, keeping rows [from, to) of
     * each group, in group order: V of a projection packed per head, cut by a Slice of its last axis after a
     * Reshape to [.., heads, groupSize]. Null when the selection is not whole groups.
     */
    WeightRef perGroup(int groupSize, int from, int to) {
        int width = outFeatures();
        if (rowScales != null) {
            return null;
        }
        if (factor != 1.0) {
            WeightRef plain = new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, outFrom, outTo, groupStride,
                    groups);
            WeightRef g = plain.perGroup(groupSize, from, to);
            return g == null ? null : g.times(factor);
        }
        if (groups != 1 || groupSize <= 0 || width % groupSize != 0 || from < 0 || to > groupSize || from >= to) {
            return null;
        }
        if (to - from == groupSize || width == groupSize) {
            return rows(from, to + width - groupSize); // whole groups, or a single group: one contiguous range
        }
        return new WeightRef(name, tensor, storedRows, storedCols, storedIsMath, outFrom + from, outFrom + to,
                groupSize, width / groupSize);
    }

    /** The math row of the k-th selected row. */
    int selectedRow(int k) {
        int len = outTo - outFrom;
        return groups == 1 ? outFrom + k : outFrom + k / len * groupStride + k % len;
    }

    /** The selection for reports: "" for the whole weight, else "[rows a..b]" (and the group repeat). */
    public String describeRows() {
        String times = (factor == 1.0 ? "" : " x " + factor) + (rowScales == null ? "" : " x per-row scales");
        if (!isPartial()) {
            return times;
        }
        return "[rows " + outFrom + ".." + outTo + (groups > 1 ? " +" + groupStride + " x" + groups : "") + "]" + times;
    }

    /** Output features of the selection (math rows). */
    public int outFeatures() {
        return (outTo - outFrom) * groups;
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
        Loaded l = unscaledLoad();
        l = factor == 1.0 ? l : l.scaled(factor);
        return rowScales == null ? l : l.rowsScaled(rowScales);
    }

    private Loaded unscaledLoad() {
        if (tensor instanceof QuantizedWeight q) {
            return QuantizedLoad.load(this, q);
        }
        MatrixView.ElementType type = elementType(tensor.dataType());
        if (type == null) {
            throw new IllegalStateException("weight '" + name + "' is " + tensor.dataType() + ", not a float type");
        }
        if (!isPartial()) {
            Loaded copied = heapCopy(type);
            if (copied != null) {
                return copied;
            }
        }
        ByteBuffer data = tensor.read();
        try {
            MatrixView stored = MatrixView.of(name, data, type, storedRows, storedCols);
            if (!isPartial()) {
                return new Loaded(storedIsMath ? stored : stored.transposed(), tensor, data);
            }
            if (groups > 1) {
                MatrixView math = storedIsMath ? stored : stored.transposed();
                Loaded copied = new Loaded(copySelected(math), null, null);
                tensor.release(data);
                return copied;
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

    /**
     * A whole external float weight read into the heap while the copy budget allows, else null (then it is mapped).
     * The kernels pass over a weight up to 13 times; a mapped region pays page faults on the first pass and
     * page-table walks on every pass, which made the mapping three times slower than reading on a cached file.
     */
    private Loaded heapCopy(MatrixView.ElementType type) {
        if (!(tensor instanceof ExternalTensor external)) {
            return null;
        }
        ByteBuffer buffer = HeapCopies.take(external);
        if (buffer == null) {
            return null;
        }
        // MatrixView.of takes exactly the weight's bytes from the buffer's start, little-endian
        MatrixView stored = MatrixView.of(name, buffer.duplicate().clear(), type, storedRows, storedCols);
        Loaded l = new Loaded(storedIsMath ? stored : stored.transposed(), null, null);
        l.copy = buffer;
        return l;
    }

    /**
     * The selected math rows of {@code math} copied in selection order, one contiguous run (a group's range) at a
     * time; exact, as every stored value is a float.
     */
    MatrixView copySelected(MatrixView math) {
        int in = inFeatures();
        int len = outTo - outFrom;
        float[] copy = new float[Math.multiplyExact(outFeatures(), in)];
        int chunk = Math.max(1, Math.min(len, (1 << 20) / in));
        double[] buf = new double[chunk * in];
        for (int g = 0; g < groups; g++) {
            int first = outFrom + g * groupStride;
            for (int r0 = 0; r0 < len; r0 += chunk) {
                int r1 = Math.min(len, r0 + chunk);
                math.copyBlock(first + r0, first + r1, 0, in, buf);
                int base = (g * len + r0) * in;
                for (int i = 0; i < (r1 - r0) * in; i++) {
                    copy[base + i] = (float) buf[i];
                }
            }
        }
        return MatrixView.ofFloats(name, copy, outFeatures(), in);
    }

    /** A weight in the math layout, holding its mapped region until closed. */
    public static final class Loaded implements AutoCloseable {
        private final MatrixView view;
        private final Tensor source;
        private ByteBuffer mapped;
        private AutoCloseable other; // regions of a quantized weight
        private ByteBuffer copy; // a heap copy's buffer, returned for reuse on close

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

        /** Whether the view reads a heap copy of the data (else a mapping or an in-memory tensor). */
        boolean heapCopied() {
            return copy != null;
        }

        /** The same regions, row i of the view multiplied by scales[i]. */
        Loaded rowsScaled(double[] scales) {
            return withView(view.rowsScaledBy(scales));
        }

        /** The same regions, the view multiplied by a constant. */
        Loaded scaled(double c) {
            return withView(view.scaledBy(c));
        }

        /** The same regions (mapping, copy buffer) seen through {@code v}; this one is not to be closed after. */
        private Loaded withView(MatrixView v) {
            Loaded l = new Loaded(v, source, mapped);
            l.other = other;
            l.copy = copy;
            return l;
        }

        @Override
        public void close() {
            if (copy != null) {
                HeapCopies.giveBack(copy);
                copy = null;
            }
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
