package io.onnxslanc.calibrate.math;

import io.onnxslanc.ir.FloatBits;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Objects;

/**
 * Read-only view of a 2-D weight stored row-major, little-endian, as float32, float16 or bfloat16 in a
 * {@link ByteBuffer} (typically a memory-mapped slice of an external-data file; one tensor stays below 2 GiB).
 *
 * <p>{@link #rows()} and {@link #cols()} describe the <em>math layout</em> the view presents. An ONNX MatMul
 * initializer B is stored [in, out] = W^T, so {@code view.transposed()} gives W [out, in] without copying.
 *
 * <p>Block copies ({@link #copyBlock}, {@link #copyRows}) are what the SLaNC math uses: they decode to double and
 * reject NaN / infinity with a message naming the weight. {@link #get} returns the raw value (NaN included).
 * Views are immutable and safe to read from several threads.
 */
public final class MatrixView implements BlockSource {

    /** Storage element types; ONNX TensorProto data types FLOAT (1), FLOAT16 (10), BFLOAT16 (16). */
    public enum ElementType {
        FLOAT32(4), FLOAT16(2), BFLOAT16(2);

        private final int byteSize;

        ElementType(int byteSize) {
            this.byteSize = byteSize;
        }

        public int byteSize() {
            return byteSize;
        }

        /** From an ONNX TensorProto.DataType code: 1 FLOAT, 10 FLOAT16, 16 BFLOAT16. */
        public static ElementType fromOnnx(int dataType) {
            return switch (dataType) {
                case 1 -> FLOAT32;
                case 10 -> FLOAT16;
                case 16 -> BFLOAT16;
                default -> throw new IllegalArgumentException("ONNX data type " + dataType
                        + " is not a supported weight type (FLOAT = 1, FLOAT16 = 10, BFLOAT16 = 16)");
            };
        }
    }

    private static final int RUN = 1024;
    private static final ThreadLocal<float[]> FLOAT_RUN = ThreadLocal.withInitial(() -> new float[RUN]);
    private static final ThreadLocal<short[]> SHORT_RUN = ThreadLocal.withInitial(() -> new short[RUN]);
    /** Decoding tables (256 KiB each): a lookup is cheaper than the bit manipulation per element. */
    private static final float[] HALF_TO_FLOAT = new float[65536];
    private static final float[] BFLOAT16_TO_FLOAT = new float[65536];

    static {
        for (int bits = 0; bits < 65536; bits++) {
            HALF_TO_FLOAT[bits] = FloatBits.halfToFloat((short) bits);
            BFLOAT16_TO_FLOAT[bits] = FloatBits.bfloat16ToFloat((short) bits);
        }
    }

    private final String name;
    private final ElementType type;
    private final FloatBuffer floats; // FLOAT32 storage, else null
    private final ShortBuffer shorts; // FLOAT16 / BFLOAT16 storage, else null
    private final DecodedLines decoded; // quantized storage dequantized on the fly (presented as FLOAT32), else null
    private final int storedRows;
    private final int storedCols;
    private final boolean transposed;

    private MatrixView(String name, ElementType type, FloatBuffer floats, ShortBuffer shorts,
                       int storedRows, int storedCols, boolean transposed) {
        this(name, type, floats, shorts, null, storedRows, storedCols, transposed);
    }

    private MatrixView(String name, ElementType type, FloatBuffer floats, ShortBuffer shorts, DecodedLines decoded,
                       int storedRows, int storedCols, boolean transposed) {
        this.name = name;
        this.type = type;
        this.floats = floats;
        this.shorts = shorts;
        this.decoded = decoded;
        this.storedRows = storedRows;
        this.storedCols = storedCols;
        this.transposed = transposed;
    }

    /**
     * Views {@code rows x cols} elements stored row-major starting at {@code data.position()}.
     * The buffer's own position, limit and byte order are not changed; the bytes are read as little-endian.
     *
     * @param name used in error messages (e.g. the initializer name)
     */
    public static MatrixView of(String name, ByteBuffer data, ElementType type, int rows, int cols) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(type, "type");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("weight '" + name + "': shape must be positive, got [" + rows + " x " + cols + "]");
        }
        long needed = (long) rows * cols * type.byteSize();
        if (data.remaining() < needed) {
            throw new IllegalArgumentException("weight '" + name + "': buffer has " + data.remaining() + " bytes, ["
                    + rows + " x " + cols + "] " + type + " needs " + needed);
        }
        ByteBuffer bytes = data.slice().limit((int) needed);
        bytes = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (type == ElementType.FLOAT32) {
            return new MatrixView(name, type, bytes.asFloatBuffer(), null, rows, cols, false);
        }
        return new MatrixView(name, type, null, bytes.asShortBuffer(), rows, cols, false);
    }

    /** A float32 view over a copy of {@code rowMajor} (mainly for tests). */
    public static MatrixView ofFloats(String name, float[] rowMajor, int rows, int cols) {
        if ((long) rows * cols != rowMajor.length) {
            throw new IllegalArgumentException("weight '" + name + "': " + rowMajor.length + " values for shape ["
                    + rows + " x " + cols + "]");
        }
        ByteBuffer bytes = ByteBuffer.allocate(rowMajor.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(rowMajor);
        return of(name, bytes, ElementType.FLOAT32, rows, cols);
    }

    /**
     * A view over {@code rows x cols} stored elements that {@code lines} decodes on request (quantized weights):
     * the kernels read it in runs like float32 storage, so no dequantized copy of the whole matrix exists.
     */
    public static MatrixView ofDecoded(String name, DecodedLines lines, int rows, int cols) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(lines, "lines");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("weight '" + name + "': shape must be positive, got [" + rows + " x " + cols + "]");
        }
        return new MatrixView(name, ElementType.FLOAT32, null, null, lines, rows, cols, false);
    }

    @Override
    public String name() {
        return name;
    }

    public ElementType elementType() {
        return type;
    }

    /** Rows of the math layout (stored columns when transposed). */
    @Override
    public int rows() {
        return transposed ? storedCols : storedRows;
    }

    /** Columns of the math layout. */
    @Override
    public int cols() {
        return transposed ? storedRows : storedCols;
    }

    public boolean isTransposed() {
        return transposed;
    }

    /** The same storage seen as the transpose; no copy. */
    public MatrixView transposed() {
        return new MatrixView(name, type, floats, shorts, decoded, storedRows, storedCols, !transposed);
    }

    /** Element (r, c) of the math layout, decoded to float precision (exact for all three types); no NaN check. */
    public double get(int r, int c) {
        Objects.checkIndex(r, rows());
        Objects.checkIndex(c, cols());
        int sr = transposed ? c : r;
        int sc = transposed ? r : c;
        return decode(sr * storedCols + sc);
    }

    /** Math-layout rows [r0, r1) into {@code dst} row-major ((r1 - r0) x cols()), checking for NaN / inf. */
    public void copyRows(int r0, int r1, double[] dst) {
        copyBlock(r0, r1, 0, cols(), dst);
    }

    /**
     * Math-layout block rows [r0, r1) x columns [c0, c1) into {@code dst} row-major with row stride (c1 - c0).
     * Reads storage in contiguous runs whichever way the view is oriented.
     *
     * @throws IllegalArgumentException naming the weight and the stored position of the first NaN or infinity
     */
    @Override
    public void copyBlock(int r0, int r1, int c0, int c1, double[] dst) {
        checkBlock(r0, r1, c0, c1, dst);
        int width = c1 - c0;
        int height = r1 - r0;
        if (!transposed) {
            for (int r = r0; r < r1; r++) {
                readRun(r * storedCols + c0, width, dst, (r - r0) * width, 1);
            }
        } else {
            // math (r, c) is stored (c, r): each stored row c gives a contiguous run over r, written down a column
            for (int c = c0; c < c1; c++) {
                readRun(c * storedCols + r0, height, dst, c - c0, width);
            }
        }
    }

    /**
     * The same block column-major: dst[(c - c0) * (r1 - r0) + (r - r0)]; contiguous reads when
     * {@link #isTransposed()}.
     */
    @Override
    public void copyBlockColumnMajor(int r0, int r1, int c0, int c1, double[] dst) {
        checkBlock(r0, r1, c0, c1, dst);
        int width = c1 - c0;
        int height = r1 - r0;
        if (transposed) {
            for (int c = c0; c < c1; c++) {
                readRun(c * storedCols + r0, height, dst, (c - c0) * height, 1);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                readRun(r * storedCols + c0, width, dst, r - r0, height);
            }
        }
    }

    private void checkBlock(int r0, int r1, int c0, int c1, double[] dst) {
        Objects.checkFromToIndex(r0, r1, rows());
        Objects.checkFromToIndex(c0, c1, cols());
        long needed = (long) (r1 - r0) * (c1 - c0);
        if (dst.length < needed) {
            throw new IllegalArgumentException("destination holds " + dst.length + " values, block needs " + needed);
        }
    }

    /**
     * This matrix times a constant (a block branch scaled by a constant before the residual Add, Granite's
     * residual_multiplier): the same orientation, each element multiplied as it is read, no copy.
     */
    public MatrixView scaledBy(double factor) {
        if (factor == 1.0) {
            return this;
        }
        DecodedLines lines = (index, len, dst, off) -> {
            readStoredFloats(index, len, dst, off);
            for (int k = off; k < off + len; k++) {
                dst[k] = (float) (dst[k] * factor);
            }
        };
        MatrixView stored = new MatrixView(name, ElementType.FLOAT32, null, null, lines, storedRows, storedCols, false);
        return transposed ? stored.transposed() : stored;
    }

    /**
     * diag(scales) times this matrix (a per-output LayerScale after the block's last linear layer): the same
     * orientation, each element multiplied by its math row's scale as it is read, no copy.
     */
    public MatrixView rowsScaledBy(double[] scales) {
        if (scales.length != rows()) {
            throw new IllegalArgumentException(name + ": " + scales.length + " row scales for " + rows() + " rows");
        }
        double[] s = scales.clone();
        DecodedLines lines = (index, len, dst, off) -> {
            readStoredFloats(index, len, dst, off);
            for (int k = 0; k < len; k++) {
                int e = index + k;
                int row = transposed ? e % storedCols : e / storedCols; // stored column = math row when transposed
                dst[off + k] = (float) (dst[off + k] * s[row]);
            }
        };
        MatrixView stored = new MatrixView(name, ElementType.FLOAT32, null, null, lines, storedRows, storedCols, false);
        return transposed ? stored.transposed() : stored;
    }

    /** True for a transposed view: column-major blocks are then read contiguously. */
    @Override
    public boolean columnMajorStorage() {
        return transposed;
    }

    /**
     * Decodes {@code len} consecutive stored elements into dst[off], dst[off + stride], ...
     * Bulk-copies the run first: per-element buffer access costs several times more than the arithmetic.
     */
    private void readRun(int index, int len, double[] dst, int off, int stride) {
        float[] run = FLOAT_RUN.get();
        for (int start = 0; start < len; start += run.length) {
            int n = Math.min(run.length, len - start);
            readStoredFloats(index + start, n, run, 0);
            store(run, n, dst, off + start * stride, stride, index + start);
        }
    }

    /** dst[off + k * stride] = run[k], rejecting NaN / inf; the unit-stride loop is kept separate for the JIT. */
    private void store(float[] run, int n, double[] dst, int off, int stride, int storedIndex) {
        if (stride == 1) {
            for (int k = 0; k < n; k++) {
                float v = run[k];
                if (!Float.isFinite(v)) {
                    throw nonFinite(storedIndex + k, v);
                }
                dst[off + k] = v;
            }
        } else {
            for (int k = 0, d = off; k < n; k++, d += stride) {
                float v = run[k];
                if (!Float.isFinite(v)) {
                    throw nonFinite(storedIndex + k, v);
                }
                dst[d] = v;
            }
        }
    }

    private float decode(int index) {
        if (decoded != null) {
            float[] one = new float[1];
            decoded.read(index, 1, one, 0);
            return one[0];
        }
        return switch (type) {
            case FLOAT32 -> floats.get(index);
            case FLOAT16 -> FloatBits.halfToFloat(shorts.get(index));
            case BFLOAT16 -> FloatBits.bfloat16ToFloat(shorts.get(index));
        };
    }

    /** Stored rows (the "lines" a one-pass kernel walks, whatever the orientation of the view). */
    int storedRows() {
        return storedRows;
    }

    int storedCols() {
        return storedCols;
    }

    /**
     * Stored elements [storedIndex, storedIndex + len) as float32 into dst[off...] (float16 and bfloat16 widen
     * exactly), with no finiteness check: for kernels that read a weight many times, after one
     * {@link #checkFinite()}.
     */
    void readStoredFloats(int storedIndex, int len, float[] dst, int off) {
        if (decoded != null) {
            decoded.read(storedIndex, len, dst, off);
            return;
        }
        if (type == ElementType.FLOAT32) {
            floats.get(storedIndex, dst, off, len);
            return;
        }
        float[] table = type == ElementType.FLOAT16 ? HALF_TO_FLOAT : BFLOAT16_TO_FLOAT;
        short[] bits = SHORT_RUN.get();
        for (int start = 0; start < len; start += bits.length) {
            int n = Math.min(bits.length, len - start);
            shorts.get(storedIndex + start, bits, 0, n);
            for (int k = 0; k < n; k++) {
                dst[off + start + k] = table[bits[k] & 0xffff];
            }
        }
    }

    /** One pass over the weight; throws the message of the block copies for the first NaN or infinity. */
    void checkFinite() {
        int bad = firstNonFinite(0, (long) storedRows * storedCols);
        if (bad >= 0) {
            throw nonFinite(bad, decode(bad));
        }
    }

    /** Stored elements per task of {@link #checkFinite(WorkerPool)}. */
    private static final int CHECK_PER_TASK = 1 << 20;

    /**
     * {@link #checkFinite()} split over the pool (a serial pass per weight was a tenth of the calibration's wall
     * time on 2 cores); the error names the first bad element in storage order, whichever thread found it.
     */
    void checkFinite(WorkerPool pool) {
        long total = (long) storedRows * storedCols;
        int tasks = (int) ((total + CHECK_PER_TASK - 1) / CHECK_PER_TASK);
        if (tasks <= 1) {
            checkFinite();
            return;
        }
        int[] bad = new int[tasks];
        pool.run(tasks, t -> bad[t] = firstNonFinite((long) t * CHECK_PER_TASK, Math.min(total, (long) (t + 1) * CHECK_PER_TASK)));
        for (int index : bad) {
            if (index >= 0) {
                throw nonFinite(index, decode(index));
            }
        }
    }

    /** The first stored index in [from, to) holding NaN or infinity, or -1. */
    private int firstNonFinite(long from, long to) {
        float[] run = FLOAT_RUN.get();
        for (long start = from; start < to; start += run.length) {
            int n = (int) Math.min(run.length, to - start);
            readStoredFloats((int) start, n, run, 0);
            for (int k = 0; k < n; k++) {
                if (!Float.isFinite(run[k])) {
                    return (int) start + k;
                }
            }
        }
        return -1;
    }

    private IllegalArgumentException nonFinite(int storedIndex, float value) {
        int sr = storedIndex / storedCols;
        int sc = storedIndex % storedCols;
        return new IllegalArgumentException("weight '" + name + "' contains " + (Float.isNaN(value) ? "NaN" : value)
                + " at stored element [" + sr + ", " + sc + "] of [" + storedRows + " x " + storedCols + "] " + type);
    }

    @Override
    public String toString() {
        return "MatrixView[" + name + ", " + rows() + " x " + cols() + ", " + (decoded != null ? "decoded" : type) + (transposed ? ", transposed" : "") + "]";
    }
}
