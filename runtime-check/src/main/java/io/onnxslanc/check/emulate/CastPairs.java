package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.Protos;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.ir.UniqueNames;
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

    private final UniqueNames names; // every tensor name in the graph, to keep new names unique
    private int count;

    CastPairs(Set<String> names) {
        this.names = new UniqueNames(names);
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
        return names.fresh(base);
    }

    int pairs() {
        return count;
    }

    static float round(float v) {
        return FloatBits.roundTripHalf(v);
    }

    /**
     * A constant as an FP16 converter stores it: rounded to nearest, and finite values beyond +-65504 saturated to
     * +-65504 rather than made infinite (an infinite constant only makes NaN, e.g. 0 * -inf in an attention mask
     * built from float32's lowest value).
     */
    static float roundConstant(float v) {
        return Float.isFinite(v) && Math.abs(v) > 65504f ? Math.copySign(65504f, v) : round(v);
    }

    /** A FLOAT tensor with every value rounded as {@link #roundConstant} does (still stored as float32). */
    static TensorProto roundTensor(TensorProto t) {
        if (t.getDataType() != DataType.FLOAT_VALUE) return t;
        float[] v = Protos.floats(t);
        for (int i = 0; i < v.length; i++) v[i] = roundConstant(v[i]);
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        return Protos.floatTensor(t.getName(), dims, v).toBuilder().setDocString(t.getDocString()).build();
    }
}
