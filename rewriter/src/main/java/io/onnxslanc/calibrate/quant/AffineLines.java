package io.onnxslanc.calibrate.quant;

import io.onnxslanc.calibrate.math.DecodedLines;
import io.onnxslanc.ir.DataType;
import java.nio.ByteBuffer;

/**
 * A 2-D integer tensor x [rows x cols] dequantized the ONNX DequantizeLinear way, y = (x - zero_point) * scale in
 * float32, with one scale (and zero point) per tensor, per row or column (per-axis), or per block of
 * {@code blockSize} consecutive elements along one axis (blocked, opset 21). int4 / uint4 are packed two per byte,
 * the element with the even flat index in the low nibble; int4 is sign-extended.
 */
public final class AffineLines implements DecodedLines {
    /** How the scales are laid out: one, one per row or column (per-axis), or per block along rows or columns. */
    public enum Layout { PER_TENSOR, PER_ROW, PER_COL, BLOCKS_DOWN_COLS, BLOCKS_ALONG_ROWS }

    private final ByteBuffer data;
    private final DataType type;
    private final int cols;
    private final Layout layout;
    private final int blockSize; // 1 unless blocked
    private final int scaleCols; // width of the blocked scale layout
    private final float[] scales;
    private final float[] zeroPoints;

    /**
     * @param layout     PER_ROW: scale[r]; PER_COL: scale[c]; BLOCKS_DOWN_COLS (blocked along axis 0):
     *                   scale[r / blockSize][c]; BLOCKS_ALONG_ROWS (blocked along axis 1): scale[r][c / blockSize]
     * @param blockSize  the block length of the blocked layouts (ignored otherwise)
     * @param zeroPoints same layout as the scales, or null (0)
     */
    public AffineLines(ByteBuffer data, DataType type, int rows, int cols, Layout layout, int blockSize,
                       float[] scales, float[] zeroPoints) {
        if (!isSupported(type)) {
            throw new IllegalArgumentException(type + " is not INT8, UINT8, INT4 or UINT4");
        }
        this.data = data.duplicate();
        this.type = type;
        this.cols = cols;
        this.layout = layout;
        this.blockSize = Math.max(1, blockSize);
        long needed = type.byteSize((long) rows * cols);
        if (data.remaining() < needed) {
            throw new IllegalArgumentException("data has " + data.remaining() + " bytes, [" + rows + " x " + cols + "] "
                    + type + " needs " + needed);
        }
        scaleCols = layout == Layout.BLOCKS_ALONG_ROWS ? ceilDiv(cols, this.blockSize) : cols;
        int expected = switch (layout) {
            case PER_TENSOR -> 1;
            case PER_ROW -> rows;
            case PER_COL -> cols;
            case BLOCKS_DOWN_COLS -> ceilDiv(rows, this.blockSize) * cols;
            case BLOCKS_ALONG_ROWS -> rows * scaleCols;
        };
        if (scales.length != expected || zeroPoints != null && zeroPoints.length != expected) {
            throw new IllegalArgumentException(scales.length + " scales" + (zeroPoints == null ? "" : " / "
                    + zeroPoints.length + " zero points") + " where " + expected + " are needed");
        }
        this.scales = scales;
        this.zeroPoints = zeroPoints;
    }

    public static boolean isSupported(DataType t) {
        return t == DataType.INT8 || t == DataType.UINT8 || t == DataType.INT4 || t == DataType.UINT4;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** Integer values of a small INT8/UINT8/INT4/UINT4 tensor (zero points), as floats. */
    public static float[] integers(ByteBuffer raw, DataType type, int count) {
        float[] out = new float[count];
        ByteBuffer b = raw.duplicate();
        for (int i = 0; i < count; i++) {
            out[i] = element(b, b.position(), type, i);
        }
        return out;
    }

    private static int element(ByteBuffer b, int base, DataType type, long i) {
        return switch (type) {
            case INT8 -> b.get(base + (int) i);
            case UINT8 -> b.get(base + (int) i) & 0xff;
            case UINT4 -> nibble(b.get(base + (int) (i >>> 1)), i);
            case INT4 -> (nibble(b.get(base + (int) (i >>> 1)), i) << 28) >> 28; // sign-extend 4 bits
            default -> throw new IllegalStateException(type.toString());
        };
    }

    private static int nibble(byte by, long i) {
        return (i & 1) == 0 ? by & 0x0f : (by >>> 4) & 0x0f;
    }

    @Override
    public void read(int storedIndex, int len, float[] dst, int off) {
        int base = data.position();
        int r = storedIndex / cols;
        int c = storedIndex % cols;
        for (int i = 0; i < len; i++) {
            int s = switch (layout) {
                case PER_TENSOR -> 0;
                case PER_ROW -> r;
                case PER_COL -> c;
                case BLOCKS_DOWN_COLS -> (r / blockSize) * cols + c;
                case BLOCKS_ALONG_ROWS -> r * scaleCols + c / blockSize;
            };
            float zp = zeroPoints == null ? 0f : zeroPoints[s];
            dst[off + i] = (element(data, base, type, (long) storedIndex + i) - zp) * scales[s];
            if (++c == cols) {
                c = 0;
                r++;
            }
        }
    }
}
