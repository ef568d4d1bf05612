package io.onnxslanc.check;

import com.google.protobuf.ByteString;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Builders and readers of ONNX protobuf messages for hand-built test models (synthetic). The tool itself edits models
 * through the rewriter's IR; only tests write protobuf by hand.
 */
public final class ProtoBuilders {
    private ProtoBuilders() {}

    public static NodeProto node(String op, String name, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        return node("", op, name, inputs, outputs, attrs);
    }

    public static NodeProto node(String domain, String op, String name, List<String> inputs, List<String> outputs,
                                 AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addAllOutput(outputs);
        if (!domain.isEmpty()) b.setDomain(domain);
        for (AttributeProto a : attrs) b.addAttribute(a);
        return b.build();
    }

    public static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    public static AttributeProto floatAttr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    public static AttributeProto intsAttr(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return b.build();
    }

    /** The attribute, or null. */
    public static AttributeProto attr(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return a;
        return null;
    }

    public static long intAttr(NodeProto n, String name, long dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : a.getI();
    }

    public static float floatAttr(NodeProto n, String name, float dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : a.getF();
    }

    public static TensorProto floatTensor(String name, long[] dims, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) buf.putFloat(v);
        return TensorProto.newBuilder().setName(name).setDataType(DataType.FLOAT_VALUE)
                .addAllDims(boxed(dims)).setRawData(ByteString.copyFrom(buf.array())).build();
    }

    /** FP16 tensor from float values (rounded to nearest even). */
    public static TensorProto halfTensor(String name, long[] dims, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) buf.putShort(ai.onnxruntime.platform.Fp16Conversions.floatToFp16(v));
        return TensorProto.newBuilder().setName(name).setDataType(DataType.FLOAT16_VALUE)
                .addAllDims(boxed(dims)).setRawData(ByteString.copyFrom(buf.array())).build();
    }

    public static TensorProto longTensor(String name, long[] dims, long[] values) {
        ByteBuffer buf = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) buf.putLong(v);
        return TensorProto.newBuilder().setName(name).setDataType(DataType.INT64_VALUE)
                .addAllDims(boxed(dims)).setRawData(ByteString.copyFrom(buf.array())).build();
    }

    /** Values of a FLOAT tensor stored inline (raw_data or float_data). */
    public static float[] floats(TensorProto t) {
        requireInline(t);
        if (t.getDataType() != DataType.FLOAT_VALUE)
            throw new IllegalArgumentException("tensor '" + t.getName() + "' is not FLOAT but type " + t.getDataType());
        if (!t.getRawData().isEmpty()) {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[b.remaining() / 4];
            b.asFloatBuffer().get(out);
            return out;
        }
        float[] out = new float[t.getFloatDataCount()];
        for (int i = 0; i < out.length; i++) out[i] = t.getFloatData(i);
        return out;
    }

    /** Values of an INT64 or INT32 tensor stored inline. */
    public static long[] longs(TensorProto t) {
        requireInline(t);
        boolean i64 = t.getDataType() == DataType.INT64_VALUE;
        if (!i64 && t.getDataType() != DataType.INT32_VALUE)
            throw new IllegalArgumentException("tensor '" + t.getName() + "' is not an integer tensor but type " + t.getDataType());
        if (!t.getRawData().isEmpty()) {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            long[] out = new long[b.remaining() / (i64 ? 8 : 4)];
            for (int i = 0; i < out.length; i++) out[i] = i64 ? b.getLong() : b.getInt();
            return out;
        }
        int n = i64 ? t.getInt64DataCount() : t.getInt32DataCount();
        long[] out = new long[n];
        for (int i = 0; i < n; i++) out[i] = i64 ? t.getInt64Data(i) : t.getInt32Data(i);
        return out;
    }

    public static boolean isExternal(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
    }

    private static void requireInline(TensorProto t) {
        if (isExternal(t))
            throw new IllegalArgumentException("tensor '" + t.getName() + "' keeps its data in an external file; "
                    + "load the model with ModelSource.read(path), which inlines external data");
    }

    /** A tensor value_info; a negative dim becomes a symbolic dimension. */
    public static ValueInfoProto valueInfo(String name, int elemType, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (int i = 0; i < dims.length; i++) {
            shape.addDim(dims[i] < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("d" + i)
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(dims[i]));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    /** The opset version imported for a domain ("" = default ONNX domain), or -1. */
    public static long opset(ModelProto m, String domain) {
        for (OperatorSetIdProto o : m.getOpsetImportList()) {
            String d = o.getDomain().equals("ai.onnx") ? "" : o.getDomain();
            if (d.equals(domain)) return o.getVersion();
        }
        return -1;
    }

    private static List<Long> boxed(long[] dims) {
        return java.util.Arrays.stream(dims).boxed().toList();
    }
}
