package io.onnxslanc.canon;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The dims of a value that carries no value_info, as far as they are static: the rank and every dim that does not
 * depend on a dynamic axis (batch, sequence), the others {@link StaticShapes#UNKNOWN_DIM}. torch.onnx writes no
 * value_info for intermediates when the batch and sequence axes are dynamic, yet the feature width of a packed
 * projection (3 d_model) is static and is what its chunk bounds are computed from. Inferred forward from the graph
 * inputs' types and the constants through the ops a Transformer is made of; one query memoises what it visits.
 * The one shape inference of the project: {@link StaticShapes#of} is its all-static view, the shape
 * arithmetic behind {@link ConstantFolder#shapeLongs} asks it with its own folded integer values.
 */
public final class PartialShapes {
    private static final long UNKNOWN = StaticShapes.UNKNOWN_DIM;
    private static final int MAX_DEPTH = 2000;
    private static final Set<String> SAME_SHAPE = Set.of("Cast", "Identity", "Relu", "Gelu", "Erf", "Sigmoid", "Tanh",
            "Sqrt", "Neg", "Abs", "Exp", "Log", "Reciprocal", "Softmax", "LayerNormalization", "Dropout", "Silu",
            "SimplifiedLayerNormalization", "RMSNormalization", "LeakyRelu", "Elu", "HardSigmoid", "Softplus", "Cos",
            "Sin", "IsNaN", "Not", "Clip", "FastGelu", "BiasGelu", "QuickGelu", "SkipLayerNormalization",
            "SkipSimplifiedLayerNormalization", "HardSwish", "Mish", "Trilu", "CumSum", "Floor", "Ceil", "Round", "Sign",
            "Relu6", "Selu", "Celu", "Erfc", "Softsign", "ThresholdedRelu", "PRelu");
    private static final Set<String> BROADCASTING = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min",
            "Equal", "Less", "Greater", "And", "Or", "Mod");

    private final Map<Value, long[]> memo = new IdentityHashMap<>();
    private static final long[] NONE = new long[0];
    /** Integer tensors (Reshape targets, axes, split sizes) with all entries known, else null. */
    private final Function<Value, long[]> known;
    /** The same with run-time entries as UNKNOWN; null when not even the length is known. */
    private final Function<Value, long[]> partial;

    /**
     * @param known integer contents when all are known (null otherwise)
     * @param partial integer contents with run-time entries as {@link StaticShapes#UNKNOWN_DIM}
     */
    public PartialShapes(Function<Value, long[]> known, Function<Value, long[]> partial) {
        this.known = known;
        this.partial = partial;
    }

    /** The instance a read-only phase shares (see {@link #sharedWhile}); null outside such a phase. */
    private static final ThreadLocal<PartialShapes> SHARED = new ThreadLocal<>();

    /** Shapes whose integer inputs are read from stored constants only (no folding, hence no recursion into it). */
    public static PartialShapes fromStoredConstants() {
        PartialShapes shared = SHARED.get();
        if (shared != null) {
            return shared;
        }
        Function<Value, long[]> stored = v -> Constants.longs(v).orElse(null);
        return new PartialShapes(stored, stored);
    }

    /**
     * Runs {@code phase}, which must not change the graph (matching reads it only), with one stored-constant
     * instance shared by all its queries: each value's dims are then computed once, so matching costs linear time in
     * the node count instead of one backward walk per query (a 200k-node chain asked at every norm-like node).
     */
    public static <T> T sharedWhile(Supplier<T> phase) {
        if (SHARED.get() != null) {
            return phase.get(); // nested: the outer phase's instance is already shared
        }
        Function<Value, long[]> stored = v -> Constants.longs(v).orElse(null);
        PartialShapes shared = new PartialShapes(stored, stored);
        shared.warmFirst = true;
        SHARED.set(shared);
        try {
            return phase.get();
        } finally {
            SHARED.remove();
        }
    }

    /** Whether a query first computes its producers in dependency order (shared instances; see {@link #warm}). */
    private boolean warmFirst;

    /** The dims of {@code v} with dynamic ones as UNKNOWN, or null when not even the rank is known. */
    public long[] dims(Value v) {
        if (warmFirst && v != null && !memo.containsKey(v)) {
            warm(v);
        }
        return dims(v, 0);
    }

    /**
     * Computes the dims of {@code root}'s untyped ancestors first, inputs before the values made from them, with an
     * explicit stack: each compute then finds its inputs memoised, so no result is ever cut off by the depth limit
     * and a memo shared across queries holds only complete answers.
     */
    private void warm(Value root) {
        Deque<Value> stack = new ArrayDeque<>();
        Set<Value> expanded = Collections.newSetFromMap(new IdentityHashMap<>());
        stack.push(root);
        while (!stack.isEmpty()) {
            Value u = stack.peek();
            if (memo.containsKey(u)) {
                stack.pop();
                continue;
            }
            Node p = u.producer();
            boolean needsInputs = p != null && StaticShapes.partialFromType(u.type()) == null && Constants.tensor(u) == null;
            if (needsInputs && expanded.add(u)) {
                for (Value in : p.inputs()) {
                    if (in != null && !memo.containsKey(in) && !expanded.contains(in)) {
                        stack.push(in);
                    }
                }
                continue;
            }
            stack.pop();
            dims(u, 0);
        }
    }

    private long[] dims(Value v, int depth) {
        if (v == null || depth > MAX_DEPTH) {
            return null;
        }
        long[] cached = memo.get(v);
        if (cached != null) {
            return cached == NONE ? null : cached;
        }
        memo.put(v, NONE); // a cycle reads as unknown
        long[] r = compute(v, depth + 1);
        memo.put(v, r == null ? NONE : r);
        return r;
    }

    private long[] compute(Value v, int depth) {
        long[] typed = StaticShapes.partialFromType(v.type());
        if (typed != null) {
            return typed;
        }
        Tensor t = Constants.tensor(v);
        if (t != null) {
            return t.dims();
        }
        Node p = v.producer();
        if (p == null) {
            return null;
        }
        String op = p.opType();
        boolean standard = p.domain().isEmpty() || p.domain().equals("ai.onnx");
        if (SAME_SHAPE.contains(op) && (p.output(0) == v || op.startsWith("Skip") && p.outputs().indexOf(v) == 3)) {
            return dims(p.input(0), depth);
        }
        if (!standard) {
            return null;
        }
        if (BROADCASTING.contains(op)) {
            long[] out = null;
            for (Value in : p.inputs()) {
                long[] d = dims(in, depth);
                if (d == null) {
                    return null;
                }
                out = out == null ? d : broadcast(out, d);
                if (out == null) {
                    return null;
                }
            }
            return out;
        }
        return switch (op) {
            case "MatMul" -> matMul(dims(p.input(0), depth), dims(p.input(1), depth));
            case "Gemm" -> StaticShapes.gemm(p, dims(p.input(0), depth), dims(p.input(1), depth));
            case "Transpose" -> StaticShapes.transpose(p, dims(p.input(0), depth));
            case "Reshape" -> reshape(dims(p.input(0), depth), partial.apply(p.input(1)), p.intAttr("allowzero", 0));
            case "Gather" -> gather(p, dims(p.input(0), depth), dims(p.input(1), depth));
            case "Unsqueeze" -> unsqueeze(p, dims(p.input(0), depth));
            case "Squeeze" -> squeeze(p, dims(p.input(0), depth));
            case "Concat" -> concat(p, depth);
            case "Split" -> split(p, v, dims(p.input(0), depth));
            case "Slice" -> slice(p, dims(p.input(0), depth));
            case "Range" -> new long[] {UNKNOWN};
            case "Shape" -> {
                long[] in = dims(p.input(0), depth);
                yield in == null ? null : new long[] {in.length};
            }
            case "ConstantOfShape" -> {
                long[] shape = partial.apply(p.input(0));
                yield shape;
            }
            case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceSumSquare" ->
                    reduce(p, dims(p.input(0), depth));
            case "Expand" -> {
                long[] in = dims(p.input(0), depth);
                long[] shape = partial.apply(p.input(1));
                yield in == null || shape == null ? null : broadcast(in, shape);
            }
            default -> null;
        };
    }

    private long[] reduce(Node p, long[] in) {
        long[] axes = axes(p);
        if (in == null || axes == null) {
            return null;
        }
        boolean keep = p.intAttr("keepdims", 1) != 0;
        boolean[] reduced = new boolean[in.length];
        for (long a : axes) {
            int k = (int) (a < 0 ? a + in.length : a);
            if (k < 0 || k >= in.length) {
                return null;
            }
            reduced[k] = true;
        }
        return java.util.stream.IntStream.range(0, in.length).filter(i -> keep || !reduced[i])
                .mapToLong(i -> reduced[i] ? 1 : in[i]).toArray();
    }

    /** Numpy-style broadcast of two dims lists (entries may be UNKNOWN), or null when two known dims clash. */
    static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long x = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
            long y = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
            if (x != y && x != 1 && y != 1 && x != UNKNOWN && y != UNKNOWN) {
                return null;
            }
            if (x == 1) {
                out[i] = y;
            } else if (y == 1) {
                out[i] = x;
            } else if (x == UNKNOWN) {
                out[i] = y; // valid broadcasting: either 1 (then y) or equal to y
            } else {
                out[i] = x;
            }
            if (x == UNKNOWN && y == UNKNOWN || x == UNKNOWN && y == 1 || y == UNKNOWN && x == 1) {
                out[i] = UNKNOWN;
            }
        }
        return out;
    }

    /** MatMul's output dims (numpy matmul: a 1-D operand gains and then loses a unit dim), or null. */
    private static long[] matMul(long[] a, long[] b) {
        if (a == null || b == null || a.length == 0 || b.length == 0) {
            return null;
        }
        long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
        long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
        long inA = a2[a2.length - 1];
        long inB = b2[b2.length - 2];
        if (inA != inB && inA != UNKNOWN && inB != UNKNOWN) {
            return null;
        }
        long[] batch = broadcast(Arrays.copyOf(a2, a2.length - 2), Arrays.copyOf(b2, b2.length - 2));
        if (batch == null) {
            return null;
        }
        long[] out = Arrays.copyOf(batch, batch.length + 2);
        int n = batch.length;
        if (a.length > 1) {
            out[n++] = a2[a2.length - 2];
        }
        if (b.length > 1) {
            out[n++] = b2[b2.length - 1];
        }
        return Arrays.copyOf(out, n);
    }

    /**
     * Reshape's output dims (0 copies the input dim unless allowzero, -1 takes what is left), entries possibly
     * UNKNOWN; null when the target is unknown or cannot hold the input.
     */
    static long[] reshape(long[] in, long[] target, long allowZero) {
        if (target == null) {
            return null;
        }
        long[] out = target.clone();
        int minusOne = -1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0 && allowZero == 0) {
                out[i] = in != null && i < in.length ? in[i] : UNKNOWN;
            } else if (out[i] == -1) {
                if (minusOne >= 0) {
                    return null;
                }
                minusOne = i;
                out[i] = UNKNOWN;
            } else if (out[i] < 0 && out[i] != UNKNOWN) {
                return null;
            }
        }
        if (minusOne >= 0 && in != null) {
            long total = product(in);
            long rest = 1;
            for (int i = 0; i < out.length; i++) {
                if (i != minusOne) {
                    rest = out[i] == UNKNOWN ? UNKNOWN : rest * out[i];
                }
                if (rest == UNKNOWN) {
                    break;
                }
            }
            if (total != UNKNOWN && rest != UNKNOWN && rest > 0) {
                if (total % rest != 0) {
                    return null;
                }
                out[minusOne] = total / rest;
            }
        }
        return out;
    }

    private static long product(long[] d) {
        long n = 1;
        for (long x : d) {
            if (x == UNKNOWN) {
                return UNKNOWN;
            }
            n *= x;
        }
        return n;
    }

    private static long[] gather(Node p, long[] data, long[] idx) {
        if (data == null || idx == null) {
            return null;
        }
        int axis = (int) p.intAttr("axis", 0);
        axis = axis < 0 ? axis + data.length : axis;
        if (axis < 0 || axis >= data.length) {
            return null;
        }
        long[] out = new long[data.length - 1 + idx.length];
        System.arraycopy(data, 0, out, 0, axis);
        System.arraycopy(idx, 0, out, axis, idx.length);
        System.arraycopy(data, axis + 1, out, axis + idx.length, data.length - axis - 1);
        return out;
    }

    private long[] axes(Node p) {
        return p.input(1) != null ? known.apply(p.input(1)) : p.attribute("axes").map(a -> a.intsValue()).orElse(null);
    }

    private long[] unsqueeze(Node p, long[] in) {
        long[] axes = axes(p);
        if (in == null || axes == null) {
            return null;
        }
        int rank = in.length + axes.length;
        boolean[] inserted = new boolean[rank];
        for (long a : axes) {
            int k = (int) (a < 0 ? a + rank : a);
            if (k < 0 || k >= rank) {
                return null;
            }
            inserted[k] = true;
        }
        long[] out = new long[rank];
        for (int i = 0, j = 0; i < rank; i++) {
            out[i] = inserted[i] ? 1 : in[j++];
        }
        return out;
    }

    private long[] squeeze(Node p, long[] in) {
        long[] axes = axes(p);
        if (in == null || axes == null) {
            return null;
        }
        boolean[] removed = new boolean[in.length];
        for (long a : axes) {
            int k = (int) (a < 0 ? a + in.length : a);
            if (k < 0 || k >= in.length) {
                return null;
            }
            removed[k] = true;
        }
        return java.util.stream.IntStream.range(0, in.length).filter(i -> !removed[i]).mapToLong(i -> in[i]).toArray();
    }

    private long[] concat(Node p, int depth) {
        long[] out = null;
        int axis = (int) p.intAttr("axis", 0);
        for (Value in : p.inputs()) {
            long[] d = dims(in, depth);
            if (d == null) {
                return null;
            }
            int a = axis < 0 ? axis + d.length : axis;
            if (a < 0 || a >= d.length) {
                return null;
            }
            if (out == null) {
                out = d.clone();
            } else {
                out[a] = out[a] == UNKNOWN || d[a] == UNKNOWN ? UNKNOWN : out[a] + d[a];
            }
        }
        return out;
    }

    private long[] split(Node p, Value v, long[] in) {
        if (in == null) {
            return null;
        }
        int axis = (int) p.intAttr("axis", 0);
        axis = axis < 0 ? axis + in.length : axis;
        if (axis < 0 || axis >= in.length) {
            return null;
        }
        int index = p.outputs().indexOf(v);
        long[] sizes = p.input(1) != null ? known.apply(p.input(1))
                : p.attribute("split").map(a -> a.intsValue()).orElse(null);
        long[] out = in.clone();
        if (sizes != null && index < sizes.length) {
            out[axis] = sizes[index];
        } else if (sizes == null && p.input(1) == null && in[axis] != UNKNOWN && in[axis] % p.outputs().size() == 0) {
            out[axis] = in[axis] / p.outputs().size();
        } else {
            out[axis] = UNKNOWN;
        }
        return out;
    }

    private long[] slice(Node p, long[] in) {
        if (in == null) {
            return null;
        }
        long[] out = in.clone();
        if (p.inputs().size() < 3) {
            return null;
        }
        long[] starts = known.apply(p.input(1));
        long[] ends = known.apply(p.input(2));
        long[] axes = p.input(3) == null ? null : known.apply(p.input(3));
        long[] steps = p.input(4) == null ? null : known.apply(p.input(4));
        if (starts == null || ends == null || p.input(3) != null && axes == null || p.input(4) != null && steps == null) {
            // bounds unknown: the sliced axes are unknown, the others keep their size; without axes all may change
            if (axes == null) {
                Arrays.fill(out, UNKNOWN);
                return out;
            }
            for (long a : axes) {
                out[(int) (a < 0 ? a + in.length : a)] = UNKNOWN;
            }
            return out;
        }
        for (int i = 0; i < starts.length; i++) {
            int a = (int) (axes == null ? i : axes[i] < 0 ? axes[i] + in.length : axes[i]);
            long step = steps == null ? 1 : steps[i];
            if (a < 0 || a >= in.length || in[a] == UNKNOWN || step != 1) {
                if (a >= 0 && a < in.length) {
                    out[a] = UNKNOWN;
                }
                continue;
            }
            long n = in[a];
            long s = Math.max(0, Math.min(n, starts[i] < 0 ? starts[i] + n : starts[i]));
            long e = Math.max(0, Math.min(n, ends[i] < 0 ? ends[i] + n : ends[i]));
            out[a] = Math.max(0, e - s);
        }
        return out;
    }
}
