package io.onnxslanc.canon;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds the small integer computations exporters build bounds and shapes from: {@code Shape} of a value whose
 * dims are static (from its type, else inferred by {@link PartialShapes}), {@code Gather}, {@code Slice},
 * {@code Concat}, {@code (Un)Squeeze}, {@code Cast}, {@code Reshape}, {@code Expand}, {@code ConstantOfShape},
 * {@code Range} and elementwise {@code Add / Sub / Mul / Div / Neg / Min / Max}. PyTorch writes
 * {@code chunk(3, -1)} of nn.MultiheadAttention's packed projection as Split sizes computed from
 * {@code Shape -> Gather -> Div}, even when every dim is static; this turns those back into numbers.
 * Entries that depend on a dynamic dim stay unknown, and a value with any unknown entry is not known.
 * <p>
 * The integer half of {@link ConstantFolder}, reached through {@link ConstantFolder#shapeLongs} and
 * {@link ConstantFolder#partialShapeLongs}: it keeps entries that depend on a dynamic dim as
 * {@link StaticShapes#UNKNOWN_DIM}, which the general folding (all values known, any type) does not.
 */
final class ShapeArithmetic {
    private static final long UNKNOWN = StaticShapes.UNKNOWN_DIM;
    private static final int MAX_DEPTH = 32;
    private static final int MAX_ELEMENTS = 1 << 12;

    /** A small integer tensor; entries may be {@link #UNKNOWN} (a dynamic dim). */
    private record Ints(long[] dims, long[] values) {
        static Ints vector(long... v) {
            return new Ints(new long[] {v.length}, v);
        }

        boolean known() {
            for (long v : values) {
                if (v == UNKNOWN) {
                    return false;
                }
            }
            return true;
        }

        int rank() {
            return dims.length;
        }
    }

    private final Map<Value, Ints> memo = new IdentityHashMap<>();
    private final PartialShapes shapes = new PartialShapes(this::known, this::partial);
    private static final Ints NONE = new Ints(new long[0], new long[0]);

    ShapeArithmetic() {
    }

    /** The dims of {@code v} (dynamic ones as UNKNOWN) from its type or forward inference, or null if the rank is unknown. */
    static long[] dims(Value v) {
        return new ShapeArithmetic().shapes.dims(v);
    }

    /** The values when all are known, else null. */
    long[] known(Value v) {
        Ints r = eval(v, 0);
        return r == null || !r.known() ? null : r.values();
    }

    /** Like {@link #known} but with dynamic entries as {@link #UNKNOWN}; null when not even the length is known. */
    long[] partial(Value v) {
        Ints r = eval(v, 0);
        return r == null ? null : r.values();
    }

    private Ints eval(Value v, int depth) {
        if (v == null || depth > MAX_DEPTH) {
            return null;
        }
        Ints cached = memo.get(v);
        if (cached != null) {
            return cached == NONE ? null : cached;
        }
        memo.put(v, NONE);
        Ints r = compute(v, depth);
        memo.put(v, r == null ? NONE : r);
        return r;
    }

    private Ints compute(Value v, int depth) {
        Tensor t = Constants.tensor(v);
        if (t != null) {
            if ((t.dataType() != DataType.INT64 && t.dataType() != DataType.INT32) || t.elementCount() > MAX_ELEMENTS) {
                return null;
            }
            return new Ints(t.dims(), t.toLongs());
        }
        Node p = v.producer();
        if (p == null || !(p.domain().isEmpty() || p.domain().equals("ai.onnx"))) {
            return null;
        }
        int d = depth + 1;
        return switch (p.opType()) {
            case "Shape" -> shape(p);
            case "Size" -> size(p.input(0));
            case "Identity" -> eval(p.input(0), d);
            case "Cast" -> castToInteger(p) ? eval(p.input(0), d) : null;
            case "Gather" -> gather(p, d);
            case "Unsqueeze", "Squeeze", "Reshape", "Flatten" -> reshaped(p, d);
            case "Concat" -> concat(p, d);
            case "Slice" -> slice(p, d);
            case "Add", "Sub", "Mul", "Div", "Min", "Max", "Mod" -> binary(p, d);
            case "Neg" -> negate(eval(p.input(0), d));
            case "Expand" -> expand(p, d);
            case "ConstantOfShape" -> constantOfShape(p, d);
            case "Range" -> range(p, d);
            default -> null;
        };
    }

    private static boolean castToInteger(Node p) {
        long to = p.intAttr("to", 0);
        return to == DataType.INT64.code() || to == DataType.INT32.code();
    }

    private Ints shape(Node p) {
        long[] dims = shapes.dims(p.input(0));
        if (dims == null) {
            return null;
        }
        int rank = dims.length;
        long start = p.intAttr("start", 0);
        long end = p.attribute("end").isPresent() ? p.intAttr("end", rank) : rank;
        int s = (int) clamp(start < 0 ? start + rank : start, rank);
        int e = (int) clamp(end < 0 ? end + rank : end, rank);
        return Ints.vector(Arrays.copyOfRange(dims, s, Math.max(s, e)));
    }

    private Ints size(Value x) {
        long[] dims = shapes.dims(x);
        if (dims == null) {
            return null;
        }
        long n = 1;
        for (long dim : dims) {
            if (dim == UNKNOWN) {
                return new Ints(new long[0], new long[] {UNKNOWN});
            }
            n *= dim;
        }
        return new Ints(new long[0], new long[] {n});
    }

    private Ints gather(Node p, int depth) {
        Ints data = eval(p.input(0), depth);
        Ints idx = eval(p.input(1), depth);
        if (data == null || idx == null || data.rank() != 1 || !idx.known()) {
            return null;
        }
        long axis = p.intAttr("axis", 0);
        if (axis != 0 && axis != -1) {
            return null;
        }
        int n = data.values().length;
        long[] out = new long[idx.values().length];
        for (int i = 0; i < out.length; i++) {
            long k = idx.values()[i];
            k = k < 0 ? k + n : k;
            if (k < 0 || k >= n) {
                return null;
            }
            out[i] = data.values()[(int) k];
        }
        return new Ints(idx.dims(), out);
    }

    /** Ops that only change the dims of a small tensor; the result keeps the values. */
    private Ints reshaped(Node p, int depth) {
        Ints x = eval(p.input(0), depth);
        if (x == null) {
            return null;
        }
        int n = x.values().length;
        switch (p.opType()) {
            case "Unsqueeze" -> {
                if (x.rank() == 0) {
                    return Ints.vector(x.values());
                }
                return x.rank() == 1 ? Ints.vector(x.values()) : null; // shape pieces: only the values' order matters
            }
            case "Squeeze" -> {
                return n == 1 ? new Ints(new long[0], x.values()) : Ints.vector(x.values());
            }
            default -> {
                return Ints.vector(x.values());
            }
        }
    }

    private Ints concat(Node p, int depth) {
        long[] out = new long[0];
        for (Value in : p.inputs()) {
            Ints part = eval(in, depth);
            if (part == null || part.rank() > 1) {
                return null;
            }
            long[] joined = Arrays.copyOf(out, out.length + part.values().length);
            System.arraycopy(part.values(), 0, joined, out.length, part.values().length);
            out = joined;
        }
        return Ints.vector(out);
    }

    private Ints slice(Node p, int depth) {
        Ints x = eval(p.input(0), depth);
        if (x == null || x.rank() != 1) {
            return null;
        }
        long[] starts;
        long[] ends;
        long[] axes = null;
        long[] steps = null;
        if (p.inputs().size() >= 3) {
            Ints s = eval(p.input(1), depth);
            Ints e = eval(p.input(2), depth);
            if (s == null || e == null || !s.known() || !e.known()) {
                return null;
            }
            starts = s.values();
            ends = e.values();
            if (p.input(3) != null) {
                Ints a = eval(p.input(3), depth);
                if (a == null || !a.known()) {
                    return null;
                }
                axes = a.values();
            }
            if (p.input(4) != null) {
                Ints st = eval(p.input(4), depth);
                if (st == null || !st.known()) {
                    return null;
                }
                steps = st.values();
            }
        } else {
            starts = p.attribute("starts").map(a -> a.intsValue()).orElse(null);
            ends = p.attribute("ends").map(a -> a.intsValue()).orElse(null);
            axes = p.attribute("axes").map(a -> a.intsValue()).orElse(null);
            if (starts == null || ends == null) {
                return null;
            }
        }
        if (starts.length != 1 || ends.length != 1 || axes != null && (axes.length != 1 || axes[0] != 0 && axes[0] != -1)) {
            return null;
        }
        long step = steps == null ? 1 : steps[0];
        if (step != 1) {
            return null;
        }
        int n = x.values().length;
        long s = clamp(starts[0] < 0 ? starts[0] + n : starts[0], n);
        long e = clamp(ends[0] < 0 ? ends[0] + n : ends[0], n);
        return Ints.vector(Arrays.copyOfRange(x.values(), (int) s, (int) Math.max(s, e)));
    }

    private Ints binary(Node p, int depth) {
        Ints a = eval(p.input(0), depth);
        Ints b = eval(p.input(1), depth);
        if (a == null || b == null) {
            return null;
        }
        int na = a.values().length;
        int nb = b.values().length;
        if (na != nb && na != 1 && nb != 1) {
            return null;
        }
        int n = Math.max(na, nb);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long x = a.values()[na == 1 ? 0 : i];
            long y = b.values()[nb == 1 ? 0 : i];
            out[i] = x == UNKNOWN || y == UNKNOWN ? UNKNOWN : apply(p.opType(), x, y);
        }
        return new Ints(a.rank() >= b.rank() ? a.dims() : b.dims(), out);
    }

    private static long apply(String op, long x, long y) {
        return switch (op) {
            case "Add" -> x + y;
            case "Sub" -> x - y;
            case "Mul" -> x * y;
            case "Div" -> y == 0 ? UNKNOWN : x / y; // integer Div truncates, as Java does
            case "Mod" -> y == 0 ? UNKNOWN : Math.floorMod(x, y);
            case "Min" -> Math.min(x, y);
            case "Max" -> Math.max(x, y);
            default -> UNKNOWN;
        };
    }

    private static Ints negate(Ints x) {
        if (x == null) {
            return null;
        }
        long[] out = x.values().clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = out[i] == UNKNOWN ? UNKNOWN : -out[i];
        }
        return new Ints(x.dims(), out);
    }

    private Ints expand(Node p, int depth) {
        Ints x = eval(p.input(0), depth);
        Ints shape = eval(p.input(1), depth);
        if (x == null || shape == null || !shape.known() || shape.values().length > 1 || x.values().length != 1) {
            return null;
        }
        int n = shape.values().length == 0 ? 1 : (int) shape.values()[0];
        if (n < 0 || n > MAX_ELEMENTS) {
            return null;
        }
        long[] out = new long[n];
        Arrays.fill(out, x.values()[0]);
        return Ints.vector(out);
    }

    private Ints constantOfShape(Node p, int depth) {
        Ints shape = eval(p.input(0), depth);
        if (shape == null || !shape.known() || shape.values().length != 1) {
            return null;
        }
        long n = shape.values()[0];
        Tensor value = p.attribute("value").map(a -> a.tensorValue()).orElse(null);
        long fill = 0;
        if (value != null) {
            if (value.dataType() != DataType.INT64 && value.dataType() != DataType.INT32) {
                return null;
            }
            fill = value.toLongs()[0];
        }
        if (n < 0 || n > MAX_ELEMENTS) {
            return null;
        }
        long[] out = new long[(int) n];
        Arrays.fill(out, fill);
        return Ints.vector(out);
    }

    private Ints range(Node p, int depth) {
        Ints start = eval(p.input(0), depth);
        Ints limit = eval(p.input(1), depth);
        Ints delta = eval(p.input(2), depth);
        if (start == null || limit == null || delta == null || !start.known() || !limit.known() || !delta.known()) {
            return null;
        }
        long s = start.values()[0];
        long l = limit.values()[0];
        long dl = delta.values()[0];
        if (dl == 0) {
            return null;
        }
        long n = Math.max(0, (l - s + dl + (dl > 0 ? -1 : 1)) / dl);
        if (n > MAX_ELEMENTS) {
            return null;
        }
        long[] out = new long[(int) n];
        for (int i = 0; i < n; i++) {
            out[i] = s + i * dl;
        }
        return Ints.vector(out);
    }

    private static long clamp(long v, long n) {
        return Math.max(0, Math.min(n, v));
    }
}
