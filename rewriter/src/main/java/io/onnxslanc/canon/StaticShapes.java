package io.onnxslanc.canon;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.util.Set;

/**
 * Static shapes of values that carry no value_info: exporters type the graph inputs, and the dims of everything
 * computed from them follow through the ops a Transformer's shape arithmetic starts from (elementwise ops, norms,
 * MatMul / Gemm, Transpose, Reshape to a constant shape). Null wherever a dim is symbolic or unknown.
 */
public final class StaticShapes {
    private static final Set<String> SAME_SHAPE = Set.of("Cast", "Identity", "Relu", "Gelu", "Erf", "Sigmoid", "Tanh",
            "Sqrt", "Neg", "Abs", "Exp", "Log", "Reciprocal", "Softmax", "LayerNormalization", "Dropout",
            "SimplifiedLayerNormalization", "RMSNormalization", "LeakyRelu", "Elu", "HardSigmoid", "Softplus");
    private static final Set<String> MS_SAME_SHAPE = Set.of("SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
            "LayerNormalization", "SimplifiedLayerNormalization", "FastGelu", "BiasGelu", "QuickGelu", "Gelu");
    private static final Set<String> BROADCASTING = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min");
    private static final int MAX_HOPS = 64;
    /** Marks a dim (or a shape entry) computed at run time, in the partial shapes that calibrate infers. */
    public static final long UNKNOWN_DIM = Long.MIN_VALUE;

    private StaticShapes() {
    }

    /** The dims of {@code v} when all of them are known numbers, else null. */
    public static long[] of(Value v) {
        return of(v, new int[] {MAX_HOPS});
    }

    static long[] of(Value v, int[] budget) {
        if (v == null || budget[0]-- <= 0) {
            return null;
        }
        long[] typed = fromType(v.type());
        if (typed != null) {
            return typed;
        }
        if (Constants.tensor(v) != null) {
            return Constants.tensor(v).dims();
        }
        Node p = v.producer();
        if (p == null) {
            return null;
        }
        boolean onnx = p.isDefaultDomain();
        boolean ms = p.domain().equals("com.microsoft");
        String op = p.opType();
        if ((onnx && SAME_SHAPE.contains(op) || ms && MS_SAME_SHAPE.contains(op)) && p.output(0) == v) {
            return of(p.input(0), budget);
        }
        if (ms && op.startsWith("Skip") && p.outputs().indexOf(v) == 3) {
            return of(p.input(0), budget); // input_skip_bias_sum
        }
        if (!onnx) {
            return null;
        }
        return switch (op) {
            case "Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min" -> broadcast(p, budget);
            case "MatMul" -> matMul(of(p.input(0), budget), of(p.input(1), budget));
            case "Gemm" -> gemm(p, budget);
            case "Transpose" -> transpose(p, of(p.input(0), budget));
            case "Reshape" -> reshape(of(p.input(0), budget), storedLongs(p.input(1)), p.intAttr("allowzero", 0));
            default -> null;
        };
    }

    /**
     * One dim of {@code v} (negative axes count from the end), when that dim is a known number even if others are
     * symbolic (a hidden size behind a dynamic batch). The last dim is followed through elementwise ops (either
     * operand), norms, MatMul / Gemm (the weight's output dim) and embedding Gathers, since exporters rarely type
     * intermediate values. -1 when unknown.
     */
    public static long dim(Value v, long axis) {
        long[] full = of(v);
        if (full != null) {
            int a = (int) (axis < 0 ? axis + full.length : axis);
            return a >= 0 && a < full.length ? full[a] : -1;
        }
        if (axis == -1) {
            return lastDim(v, new int[] {MAX_HOPS});
        }
        TensorType t = v == null ? null : v.type();
        if (t != null && t.shape() != null) {
            int rank = t.shape().size();
            int a = (int) (axis < 0 ? axis + rank : axis);
            Long d = a >= 0 && a < rank ? t.shape().get(a).value() : null;
            return d == null ? -1 : d;
        }
        return -1;
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

    /** A stored integer constant only: folding a target shape here could ask for shapes again, without bound. */
    private static long[] storedLongs(Value v) {
        return Constants.longs(v).orElse(null);
    }

    /** The typed dims, or null when the type has no shape or any dim is symbolic: the all-static view of {@link #partialFromType}. */
    static long[] fromType(TensorType type) {
        long[] dims = partialFromType(type);
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

    private static long[] broadcast(Node p, int[] budget) {
        long[] out = new long[0];
        for (Value in : p.inputs()) {
            long[] d = of(in, budget);
            out = d == null ? null : broadcast(out, d);
            if (out == null) {
                return null;
            }
        }
        return out;
    }

    /** Numpy-style broadcast of two shapes, or null when they do not broadcast. */
    static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                return null;
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    private static long[] matMul(long[] a, long[] b) {
        if (a == null || b == null || a.length == 0 || b.length == 0) {
            return null;
        }
        long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
        long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
        if (a2[a2.length - 1] != b2[b2.length - 2]) {
            return null;
        }
        long[] batch = broadcast(java.util.Arrays.copyOf(a2, a2.length - 2), java.util.Arrays.copyOf(b2, b2.length - 2));
        if (batch == null) {
            return null;
        }
        java.util.List<Long> out = new java.util.ArrayList<>();
        for (long d : batch) {
            out.add(d);
        }
        if (a.length > 1) {
            out.add(a2[a2.length - 2]);
        }
        if (b.length > 1) {
            out.add(b2[b2.length - 1]);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private static long[] gemm(Node p, int[] budget) {
        return gemm(p, of(p.input(0), budget), of(p.input(1), budget));
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

    /** Reshape's output dims (0 copies the input dim unless allowzero, -1 takes what is left), or null. */
    static long[] reshape(long[] in, long[] target, long allowZero) {
        if (target == null) {
            return null;
        }
        long[] out = target.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0 && allowZero == 0) {
                if (in == null || i >= in.length) {
                    return null;
                }
                out[i] = in[i];
            }
            if (out[i] == -1) {
                if (infer >= 0) {
                    return null;
                }
                infer = i;
            } else if (out[i] < 0) {
                return null;
            } else {
                known *= out[i];
            }
        }
        if (infer >= 0) {
            if (in == null || known == 0) {
                return null;
            }
            long total = 1;
            for (long d : in) {
                total *= d;
            }
            if (total % known != 0) {
                return null;
            }
            out[infer] = total / known;
        }
        return out;
    }
}
