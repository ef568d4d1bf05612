package io.onnxslanc.canon;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.util.Set;

/**
 * Static shapes of values that carry no value_info: the all-static view of {@link PartialShapes} (null wherever a
 * dim is symbolic or unknown), the typed-dims reading both share with its {@link #UNKNOWN_DIM} marker, and the
 * shape rules of single ops (Gemm, Transpose) that the shape arithmetic (ShapeArithmetic) uses too.
 */
public final class StaticShapes {
    private static final Set<String> SAME_SHAPE = Set.of("Cast", "Identity", "Relu", "Gelu", "Erf", "Sigmoid", "Tanh",
            "Sqrt", "Neg", "Abs", "Exp", "Log", "Reciprocal", "Softmax", "LayerNormalization", "Dropout",
            "SimplifiedLayerNormalization", "RMSNormalization", "LeakyRelu", "Elu", "HardSigmoid", "Softplus");
    private static final Set<String> MS_SAME_SHAPE = Set.of("SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
            "LayerNormalization", "SimplifiedLayerNormalization", "FastGelu", "BiasGelu", "QuickGelu", "Gelu");
    private static final int MAX_HOPS = 64;
    /** Marks a dim (or a shape entry) computed at run time, in the partial shapes that calibrate infers. */
    public static final long UNKNOWN_DIM = Long.MIN_VALUE;

    private StaticShapes() {
    }

    /** The dims of {@code v} when all of them are known numbers, else null: the all-static view of {@link PartialShapes}. */
    public static long[] of(Value v) {
        return v == null ? null : allStatic(PartialShapes.fromStoredConstants().dims(v));
    }

    /** {@code dims} when it is known and holds no {@link #UNKNOWN_DIM}, else null. */
    static long[] allStatic(long[] dims) {
        if (dims == null) {
            return null;
        }
        for (long d : dims) {
            if (d == UNKNOWN_DIM) {
                return null;
            }
        }
        return dims;
    }

    /**
     * One dim of {@code v} (negative axes count from the end), when that dim is a known number even if others are
     * symbolic (a hidden size behind a dynamic batch). The last dim is followed through elementwise ops (either
     * operand), norms, MatMul / Gemm (the weight's output dim) and embedding Gathers, since exporters rarely type
     * intermediate values. -1 when unknown.
     */
    public static long dim(Value v, long axis) {
        long[] dims = v == null ? null : PartialShapes.fromStoredConstants().dims(v);
        if (dims != null) {
            int a = (int) (axis < 0 ? axis + dims.length : axis);
            long d = a >= 0 && a < dims.length ? dims[a] : UNKNOWN_DIM;
            if (d != UNKNOWN_DIM) {
                return d;
            }
        }
        return axis == -1 ? lastDim(v, new int[] {MAX_HOPS}) : -1;
    }

    private static long lastDim(Value v, int[] budget) {
        if (v == null || budget[0]-- <= 0) {
            return -1;
        }
        TensorType t = v.type();
        if (t != null && t.shape() != null) {
            Long d = t.shape().isEmpty() ? Long.valueOf(1) : t.shape().get(t.shape().size() - 1).value();
            return d == null ? -1 : d;
        }
        if (Constants.tensor(v) != null) {
            long[] dims = Constants.tensor(v).dims();
            return dims.length == 0 ? 1 : dims[dims.length - 1];
        }
        Node p = v.producer();
        if (p == null) {
            return -1;
        }
        String op = p.opType();
        boolean onnx = p.isDefaultDomain();
        boolean ms = p.domain().equals("com.microsoft");
        if ((onnx && SAME_SHAPE.contains(op) || ms && MS_SAME_SHAPE.contains(op))) {
            return lastDim(p.input(0), budget);
        }
        if (!onnx) {
            return -1;
        }
        switch (op) {
            case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min" -> {
                long best = -1;
                for (Value in : p.inputs()) {
                    long d = lastDim(in, budget);
                    if (d > 1) {
                        return d;
                    }
                    best = Math.max(best, d);
                }
                return best;
            }
            case "Where" -> {
                long d = lastDim(p.input(1), budget);
                return d > 1 ? d : lastDim(p.input(2), budget);
            }
            case "MatMul" -> {
                return lastDim(p.input(1), budget);
            }
            case "Gemm" -> {
                long[] b = of(p.input(1));
                return b == null || b.length != 2 ? -1 : p.intAttr("transB", 0) == 1 ? b[0] : b[1];
            }
            case "Gather" -> {
                long[] data = of(p.input(0));
                return p.intAttr("axis", 0) == 0 && data != null && data.length >= 2 ? data[data.length - 1] : -1;
            }
            default -> {
                return -1;
            }
        }
    }

    /** The typed dims, or null when the type has no shape or any dim is symbolic: the all-static view of {@link #partialFromType}. */
    static long[] fromType(TensorType type) {
        return allStatic(partialFromType(type));
    }

    /** The typed dims with symbolic or unknown ones as {@link #UNKNOWN_DIM}; null when the type has no shape. */
    public static long[] partialFromType(TensorType type) {
        if (type == null || type.shape() == null) {
            return null;
        }
        long[] dims = new long[type.shape().size()];
        for (int i = 0; i < dims.length; i++) {
            Long d = type.shape().get(i).value();
            dims[i] = d == null || d < 0 ? UNKNOWN_DIM : d;
        }
        return dims;
    }

    /** Gemm's output dims {M, N} from A's and B's dims (either may hold {@link #UNKNOWN_DIM}), or null. */
    public static long[] gemm(Node p, long[] a, long[] b) {
        if (a == null || b == null || a.length != 2 || b.length != 2) {
            return null;
        }
        long m = p.intAttr("transA", 0) == 1 ? a[1] : a[0];
        long n = p.intAttr("transB", 0) == 1 ? b[0] : b[1];
        return new long[] {m, n};
    }

    /** Transpose's output dims (perm, else reversed), any entry possibly {@link #UNKNOWN_DIM}; null when unknown. */
    public static long[] transpose(Node p, long[] in) {
        if (in == null) {
            return null;
        }
        long[] perm = p.attribute("perm").map(a -> a.intsValue()).orElse(null);
        long[] out = new long[in.length];
        for (int i = 0; i < in.length; i++) {
            int from = perm == null ? in.length - 1 - i : (int) perm[i];
            if (from < 0 || from >= in.length) {
                return null;
            }
            out[i] = in[from];
        }
        return out;
    }

    /** Numpy-style broadcast of two static shapes, or null when they do not broadcast. */
    static long[] broadcast(long[] a, long[] b) {
        return allStatic(PartialShapes.broadcast(a, b));
    }

    /** Reshape's output dims (0 copies the input dim unless allowzero, -1 takes what is left), or null. */
    static long[] reshape(long[] in, long[] target, long allowZero) {
        return allStatic(PartialShapes.reshape(in, target, allowZero));
    }
}
