package io.onnxslanc.check.emulate;

import ai.onnxruntime.platform.Fp16Conversions;
import io.onnxslanc.check.model.Protos;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;

import java.util.List;
import java.util.Set;

/**
 * Inserts FP16 round trips: Cast(to=FLOAT16) -> Cast(to=FLOAT). The Casts are named emu_fp16_* and never
 * InsertedPrecisionFreeCast_*, which is the name ORT's own cast clean-up removes.
 */
final class CastPairs {
    static final String PREFIX = "emu_fp16_";

    private final Set<String> names; // every tensor name in the graph, to keep new names unique
    private int count;

    CastPairs(Set<String> names) {
        this.names = names;
    }

    /** src -> Cast16 -> Cast32 -> dst. */
    List<NodeProto> roundTrip(String src, String dst) {
        String half = fresh(dst + "__emu_fp16");
        int k = count++;
        return List.of(
                Protos.node("Cast", PREFIX + k + "_to16", List.of(src), List.of(half), Protos.intAttr("to", DataType.FLOAT16_VALUE)),
                Protos.node("Cast", PREFIX + k + "_to32", List.of(half), List.of(dst), Protos.intAttr("to", DataType.FLOAT_VALUE)));
    }

    /** A tensor name not used yet in the graph. */
    String fresh(String base) {
        String name = base;
        for (int i = 1; !names.add(name); i++) name = base + "_" + i;
        return name;
    }

    int pairs() {
        return count;
    }

    static float round(float v) {
        return Fp16Conversions.fp16ToFloat(Fp16Conversions.floatToFp16(v));
    }

    /** A FLOAT tensor with every value rounded to the nearest FP16 value (still stored as float32). */
    static TensorProto roundTensor(TensorProto t) {
        if (t.getDataType() != DataType.FLOAT_VALUE) return t;
        float[] v = Protos.floats(t);
        for (int i = 0; i < v.length; i++) v[i] = round(v[i]);
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        return Protos.floatTensor(t.getName(), dims, v).toBuilder().setDocString(t.getDocString()).build();
    }
}
