package io.onnxslanc.samples.quantize;

/** The weight formats {@link WeightQuantizer} writes. */
public enum QuantFormat {
    /** com.microsoft MatMulNBits, 4 bits, block 32, asymmetric: packed uint8 zero points. */
    NBITS4_ZP,
    /** MatMulNBits, 4 bits, block 32, symmetric: no zero_points input (the default zero point 8). */
    NBITS4_SYM,
    /** MatMulNBits, 8 bits, block 32, asymmetric. */
    NBITS8_ZP,
    /** DequantizeLinear INT8, one scale per output column (axis 1 of the MatMul B operand), symmetric. */
    DQ_INT8_PER_CHANNEL,
    /** DequantizeLinear INT4, blocked along K (axis 0), block 32, symmetric (opset 21). */
    DQ_INT4_BLOCKED,
    /** DequantizeLinear UINT4, blocked along K, block 32, with zero points (opset 21). */
    DQ_UINT4_BLOCKED_ZP;

    public static final int BLOCK = 32;

    boolean nBits() {
        return this == NBITS4_ZP || this == NBITS4_SYM || this == NBITS8_ZP;
    }

    boolean needsOpset21() {
        return this == DQ_INT4_BLOCKED || this == DQ_UINT4_BLOCKED_ZP;
    }
}
