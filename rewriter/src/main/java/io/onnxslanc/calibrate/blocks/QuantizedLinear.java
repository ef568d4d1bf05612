package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.quant.AffineLines;
import io.onnxslanc.calibrate.quant.FloatTables;
import io.onnxslanc.calibrate.quant.NBitsLines;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Linear layers with quantized weights, read as the float weights they dequantize to (see {@link QuantizedWeight}):
 * <ul>
 *   <li>com.microsoft MatMulNBits (4 or 8 bits, any block_size, packed uint8 or float zero points, default
 *       2^(bits-1)); its B is stored [N, K] = W, so the stored matrix is the math layout;</li>
 *   <li>ONNX DequantizeLinear on a constant int8/uint8/int4/uint4 weight (per-tensor, per-axis, blocked) in front of
 *       MatMul / Gemm, found by {@link LinearLayer.StoredWeight#resolve};</li>
 *   <li>dynamic quantization (ONNX Runtime's quantize_dynamic): Mul(Cast(MatMulInteger(DynamicQuantizeLinear(x), B,
 *       x_zp, B_zp)), Mul(x_scale, B_scale)). DynamicQuantizeLinear only re-encodes x (x ~ (x_q - x_zp) x_scale, its
 *       scale computed at run time from x), so the linear map from x to the output is W^T = (B - B_zp) B_scale:
 *       that is what is calibrated; the activation's scale does not enter.</li>
 * </ul>
 *
 * <p>Public only for {@link #dequantizeLinear(Node, Tensor, String)}, which the first norm's embedding bound
 * ({@code calibrate.EmbeddingBound}) uses for a quantized embedding table.
 */
public final class QuantizedLinear {
    private static final String MS = "com.microsoft";

    private QuantizedLinear() {
    }

    /** A quantized linear layer ending in {@code n}, the reason one is malformed, or null if {@code n} is none. */
    static Found<LinearLayer> of(Node n) {
        if (n.is(MS, "MatMulNBits")) {
            return matMulNBits(n);
        }
        if (n.is("Mul")) {
            return dynamicMatMulInteger(n);
        }
        if (n.is("MatMulInteger")) {
            return Found.fail("MatMulInteger '" + n.name() + "' gives integers; its float output is the Mul that scales it");
        }
        return null;
    }

    private static Found<LinearLayer> matMulNBits(Node n) {
        String where = "MatMulNBits '" + n.name() + "'";
        int k = (int) n.intAttr("K", 0);
        int outs = (int) n.intAttr("N", 0);
        int bits = (int) n.intAttr("bits", 4);
        int blockSize = (int) n.intAttr("block_size", 0);
        if (k <= 0 || outs <= 0 || blockSize <= 0) {
            return Found.fail(where + " lacks K, N or block_size");
        }
        if (bits != 4 && bits != 8) {
            return Found.fail(where + " has bits=" + bits + " (4 and 8 are read)");
        }
        if (blockSize < 16 || Integer.bitCount(blockSize) != 1) {
            return Found.fail(where + " has block_size " + blockSize + " (a power of two >= 16 is expected)");
        }
        if (n.input(4) != null && !n.input(4).name().isEmpty()) {
            return Found.fail(where + " has a g_idx input (act-order: K permuted per block); such weights are not read");
        }
        Tensor b = GraphOps.constant(n.input(1));
        Tensor scales = GraphOps.constant(n.input(2));
        Value zpValue = n.input(3) == null || n.input(3).name().isEmpty() ? null : n.input(3);
        Tensor zp = zpValue == null ? null : GraphOps.constant(zpValue);
        if (b == null || scales == null || zpValue != null && zp == null) {
            return Found.fail(where + ": B, scales and zero_points must be constants");
        }
        if (b.dataType() != DataType.UINT8) {
            return Found.fail(where + ": B is " + b.dataType() + ", not UINT8");
        }
        if (!isFloat(scales.dataType())) {
            return Found.fail(where + ": scales are " + scales.dataType());
        }
        int blocks = NBitsLines.blocksPerRow(k, blockSize);
        long blob = (long) blockSize * bits / 8;
        if (b.byteSize() != (long) outs * blocks * blob) {
            return Found.fail(where + ": B has " + b.byteSize() + " bytes, N " + outs + " x " + blocks + " blocks x " + blob
                    + " needs " + (long) outs * blocks * blob);
        }
        if (scales.elementCount() != (long) outs * blocks) {
            return Found.fail(where + ": " + scales.elementCount() + " scales for " + (long) outs * blocks + " blocks");
        }
        boolean packedZp = zp != null && zp.dataType() == DataType.UINT8;
        if (zp != null) {
            long expected = packedZp ? (long) outs * NBitsLines.zeroPointRowBytes(blocks, bits) : (long) outs * blocks;
            long have = packedZp ? zp.byteSize() : zp.elementCount();
            if (!packedZp && zp.dataType() != scales.dataType() || have != expected) {
                return Found.fail(where + ": zero_points " + zp.dataType() + " x " + have + " do not fit (expected "
                        + expected + (packedZp ? " packed bytes" : " values of the scales' type") + ")");
            }
        }
        DataType scaleType = scales.dataType();
        DataType zpType = zp == null ? null : zp.dataType();
        QuantizedWeight w = new QuantizedWeight(Arrays.asList(b, scales, zp), bufs -> {
            float[] s = FloatTables.decode(bufs.get(1), scaleType, outs * blocks);
            float[] z = zpType == null ? NBitsLines.unpackZeroPoints(null, outs, blocks, bits)
                    : zpType == DataType.UINT8 ? NBitsLines.unpackZeroPoints(bufs.get(2), outs, blocks, bits)
                    : FloatTables.decode(bufs.get(2), zpType, outs * blocks);
            return new NBitsLines(bufs.get(0), outs, k, bits, blockSize, s, z);
        }, outs, k, "MatMulNBits " + bits + "-bit, block_size " + blockSize + ", " + scaleType + " scales, "
                + (zp == null ? "default zero point " + (1 << (bits - 1)) : packedZp ? "packed uint8 zero points"
                : zpType + " zero points"));
        WeightRef ref = WeightRef.whole(n.input(1).name(), w, outs, k, true);
        return Found.of(new LinearLayer(n, n.input(0), ref));
    }

    private static Found<LinearLayer> dynamicMatMulInteger(Node mul) {
        Node mmi = null;
        Value scaleOperand = null;
        for (int i = 0; i < 2 && mul.inputs().size() == 2; i++) {
            Node p = GraphOps.through(mul.input(i), java.util.Set.of("Cast")).producer();
            if (p != null && p.is("MatMulInteger")) {
                mmi = p;
                scaleOperand = mul.input(1 - i);
            }
        }
        if (mmi == null) {
            return null;
        }
        String where = "MatMulInteger '" + mmi.name() + "'";
        Node dql = mmi.input(0).producer();
        if (dql == null || !dql.is("DynamicQuantizeLinear")) {
            return Found.fail(where + ": its activation does not come from DynamicQuantizeLinear (a static activation"
                    + " scale folded into the output Mul is not separated from the weight scale)");
        }
        Node sm = scaleOperand.producer();
        Value wScale = null;
        if (sm != null && sm.is("Mul") && sm.inputs().size() == 2) {
            wScale = sm.input(0) == dql.output(1) ? sm.input(1) : sm.input(1) == dql.output(1) ? sm.input(0) : null;
        }
        Tensor scale = wScale == null ? null : GraphOps.constant(wScale);
        if (scale == null || !isFloat(scale.dataType())) {
            return Found.fail(where + ": its output Mul's scale is not Mul(activation scale, constant weight scale)");
        }
        Tensor b = GraphOps.constant(mmi.input(1));
        Value zpValue = mmi.input(3) == null || mmi.input(3).name().isEmpty() ? null : mmi.input(3);
        Tensor zp = zpValue == null ? null : GraphOps.constant(zpValue);
        if (b == null || zpValue != null && zp == null) {
            return Found.fail(where + ": the weight and its zero point must be constants");
        }
        if (b.dataType() != DataType.INT8 && b.dataType() != DataType.UINT8 || b.dims().length != 2
                || zp != null && zp.dataType() != b.dataType()) {
            return Found.fail(where + ": weight '" + mmi.input(1).name() + "' is not a 2-D INT8 / UINT8 constant with a zero point of its type");
        }
        int rows = Math.toIntExact(b.dims()[0]);
        int cols = Math.toIntExact(b.dims()[1]);
        long sCount = scale.elementCount();
        long zCount = zp == null ? 1 : zp.elementCount();
        if (sCount != 1 && sCount != cols || zCount != 1 && zCount != cols) {
            return Found.fail(where + ": " + sCount + " weight scales / " + zCount + " zero points for " + cols + " columns");
        }
        boolean perColumn = sCount == cols || zCount == cols;
        int count = perColumn ? cols : 1;
        DataType bType = b.dataType();
        DataType sType = scale.dataType();
        QuantizedWeight w = new QuantizedWeight(Arrays.asList(b, scale, zp), bufs -> new AffineLines(bufs.get(0), bType, rows,
                cols, perColumn ? AffineLines.Layout.PER_COL : AffineLines.Layout.PER_TENSOR, 0,
                widen(FloatTables.decode(bufs.get(1), sType, (int) sCount), count),
                bufs.get(2) == null ? null : widen(AffineLines.integers(bufs.get(2), bType, (int) zCount), count)),
                rows, cols, "MatMulInteger " + bType + " weight, " + (perColumn ? "per-column" : "per-tensor") + " scale from '"
                + wScale.name() + "'" + (zp == null ? "" : ", zero point") + "; the dynamic activation scale does not enter");
        return Found.of(new LinearLayer(mul, dql.input(0), WeightRef.whole(mmi.input(1).name(), w, rows, cols, false)));
    }

    /** A one-value table repeated to {@code count} entries. */
    private static float[] widen(float[] v, int count) {
        if (v.length == count) {
            return v;
        }
        float[] out = new float[count];
        Arrays.fill(out, v[0]);
        return out;
    }

    /** The weight behind a DequantizeLinear in front of a MatMul / Gemm operand, as a stored [rows x cols] matrix. */
    static Found<QuantizedWeight> dequantizeLinear(Node dq) {
        return dequantizeLinear(dq, GraphOps.constant(dq.input(0)), dq.input(0).name());
    }

    /**
     * The same for the constant {@code x} that reaches the DequantizeLinear's input through row selections
     * (an embedding table Gathered before a per-tensor DequantizeLinear, as quantize_dynamic writes it). Public for the
     * first norm's embedding bound in {@code calibrate}, which reads a quantized table's rows this way.
     */
    public static Found<QuantizedWeight> dequantizeLinear(Node dq, Tensor x, String xName) {
        String where = "DequantizeLinear '" + dq.name() + "'";
        Tensor scale = GraphOps.constant(dq.input(1));
        Value zpValue = dq.input(2) == null || dq.input(2).name().isEmpty() ? null : dq.input(2);
        Tensor zp = zpValue == null ? null : GraphOps.constant(zpValue);
        if (x == null || scale == null || zpValue != null && zp == null) {
            return Found.fail(where + ": the weight, its scale and zero point must be constants");
        }
        if (!AffineLines.isSupported(x.dataType())) {
            return Found.fail(where + ": weight '" + xName + "' is " + x.dataType()
                    + " (INT8, UINT8, INT4 and UINT4 are read)");
        }
        if (!isFloat(scale.dataType())) {
            return Found.fail(where + ": scale is " + scale.dataType());
        }
        if (zp != null && zp.dataType() != x.dataType()) {
            return Found.fail(where + ": zero point is " + zp.dataType() + ", weight " + x.dataType());
        }
        long[] dims = x.dims();
        if (dims.length != 2 || dims[0] > Integer.MAX_VALUE || dims[1] > Integer.MAX_VALUE) {
            return Found.fail(where + ": weight has rank " + dims.length + " (2-D weights are read)");
        }
        int rows = (int) dims[0];
        int cols = (int) dims[1];
        long axis = dq.intAttr("axis", 1);
        axis = axis < 0 ? axis + 2 : axis;
        int blockSize = (int) dq.intAttr("block_size", 0);
        long[] sDims = scale.dims();
        AffineLines.Layout layout;
        String how;
        if (blockSize > 0) {
            if (axis != 0 && axis != 1 || sDims.length != 2) {
                return Found.fail(where + ": blocked scales of rank " + sDims.length + " on axis " + axis);
            }
            layout = axis == 0 ? AffineLines.Layout.BLOCKS_DOWN_COLS : AffineLines.Layout.BLOCKS_ALONG_ROWS;
            how = "blocked along axis " + axis + ", block_size " + blockSize;
        } else if (scale.elementCount() == 1 && sDims.length <= 1) {
            layout = AffineLines.Layout.PER_TENSOR;
            how = "per-tensor";
        } else if (sDims.length == 1 && (axis == 0 || axis == 1)) {
            layout = axis == 0 ? AffineLines.Layout.PER_ROW : AffineLines.Layout.PER_COL;
            how = "per-axis (axis " + axis + ")";
        } else {
            return Found.fail(where + ": scale of shape " + Arrays.toString(sDims) + " on axis " + axis + " is not read");
        }
        int count = Math.toIntExact(scale.elementCount());
        if (zp != null && zp.elementCount() != count) {
            return Found.fail(where + ": " + zp.elementCount() + " zero points for " + count + " scales");
        }
        DataType xType = x.dataType();
        DataType sType = scale.dataType();
        long expected = switch (layout) {
            case PER_TENSOR -> 1;
            case PER_ROW -> rows;
            case PER_COL -> cols;
            case BLOCKS_DOWN_COLS -> (long) ((rows + blockSize - 1) / blockSize) * cols;
            case BLOCKS_ALONG_ROWS -> (long) rows * ((cols + blockSize - 1) / blockSize);
        };
        if (count != expected) {
            return Found.fail(where + ": " + count + " scales (" + how + ") for a " + rows + " x " + cols + " weight, expected "
                    + expected);
        }
        QuantizedWeight w = new QuantizedWeight(Arrays.asList(x, scale, zp), bufs -> new AffineLines(bufs.get(0), xType, rows,
                cols, layout, blockSize, FloatTables.decode(bufs.get(1), sType, count),
                bufs.get(2) == null ? null : AffineLines.integers(bufs.get(2), xType, count)),
                rows, cols, "DequantizeLinear " + xType + " " + how + ", " + sType + " scale"
                + (zp == null ? "" : ", zero point"));
        return Found.of(w);
    }

    private static boolean isFloat(DataType t) {
        return FloatTables.isFloat(t);
    }
}
