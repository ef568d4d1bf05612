package io.onnxslanc.ir;

/** ONNX tensor element types, with their code in TensorProto.DataType and their storage width. */
public enum DataType {
    UNDEFINED(0, 0), FLOAT(1, 32), UINT8(2, 8), INT8(3, 8), UINT16(4, 16), INT16(5, 16), INT32(6, 32),
    INT64(7, 64), STRING(8, 0), BOOL(9, 8), FLOAT16(10, 16), DOUBLE(11, 64), UINT32(12, 32), UINT64(13, 64),
    COMPLEX64(14, 64), COMPLEX128(15, 128), BFLOAT16(16, 16), FLOAT8E4M3FN(17, 8), FLOAT8E4M3FNUZ(18, 8),
    FLOAT8E5M2(19, 8), FLOAT8E5M2FNUZ(20, 8), UINT4(21, 4), INT4(22, 4), FLOAT4E2M1(23, 4), FLOAT8E8M0(24, 8);

    private final int code;
    private final int bits;

    DataType(int code, int bits) {
        this.code = code;
        this.bits = bits;
    }

    public int code() {
        return code;
    }

    /** Storage width in bits; 0 for STRING and UNDEFINED, which have no fixed width. */
    public int bits() {
        return bits;
    }

    public boolean isFloatingPoint() {
        return this == FLOAT || this == FLOAT16 || this == DOUBLE || this == BFLOAT16;
    }

    /** Bytes needed for {@code count} elements (sub-byte types are packed, rounded up). */
    public long byteSize(long count) {
        return (count * bits + 7) / 8;
    }

    public static DataType fromCode(int code) {
        for (DataType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown ONNX data type " + code);
    }

    public static boolean isKnownCode(int code) {
        for (DataType t : values()) {
            if (t.code == code) {
                return true;
            }
        }
        return false;
    }
}
