package io.onnxslanc.canon;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The value of a constant expression, computed on demand and never written into the model: initializers and
 * Constant nodes, and small computations over them (elementwise arithmetic, Cast, Reshape / Flatten / (Un)Squeeze /
 * Transpose, Gather / Slice / Concat, ConstantOfShape, Range) and over static shapes ({@code Shape} / {@code Size}
 * of a value whose dims are known, see {@link StaticShapes}). So a gain written {@code 1 + w} or {@code Cast(w) * c},
 * and a Slice bound computed {@code Shape -> Gather -> Div}, read as numbers.
 * <p>
 * Read-only and stateless: each call evaluates afresh (the graph may have changed since), with a bound on the nodes
 * visited and on the elements materialised, so asking about an activation is cheap and a weight behind a Cast is not
 * copied (it is no constant for this class, as before).
 */
public final class ConstantFolder {
    /** Results and operands larger than this are not materialised (gains and shape vectors are far smaller). */
    public static final int MAX_ELEMENTS = 1 << 16;
    private static final int MAX_NODES = 96;

    private ConstantFolder() {
    }

    /** The constant value of {@code v} (a stored constant as it is, a folded one as a new heap tensor), or null. */
    public static Tensor value(Value v) {
        Tensor stored = Constants.tensor(v);
        if (stored != null) {
            return stored;
        }
        Folded f = new Evaluation().fold(v);
        return f == null ? null : f.toTensor();
    }

    public static boolean isConstant(Value v) {
        return value(v) != null;
    }

    /** Integer contents (shapes, axes, bounds) of an integer-typed constant expression, or null. */
    public static long[] longs(Value v) {
        Folded f = folded(v);
        return f == null || !f.integer() || f.type() == DataType.BOOL ? null : f.ints().clone();
    }

    /**
     * Integer contents of a shape computation ({@code Shape -> Gather -> Div}, Concat of pieces, Slice, Expand ...)
     * when every entry is known, or null: the dims come from the types or from {@link PartialShapes}, so an entry
     * read from a static dim is known even when other dims are dynamic. Where the block walks read Slice / Split
     * bounds, axes and Reshape targets. Each call is one evaluation with its own memo.
     */
    public static long[] shapeLongs(Value v) {
        return new ShapeArithmetic().known(v);
    }

    /** Like {@link #shapeLongs}, with entries that depend on a dynamic dim as {@link StaticShapes#UNKNOWN_DIM}. */
    public static long[] partialShapeLongs(Value v) {
        return new ShapeArithmetic().partial(v);
    }

    /**
     * The dims of {@code v} (dynamic ones as {@link StaticShapes#UNKNOWN_DIM}) from its type or forward inference
     * through the graph, or null when even the rank is unknown.
     */
    public static long[] dims(Value v) {
        return ShapeArithmetic.dims(v);
    }

    /** Float contents of a constant expression of a float type (decoded to double), or null. */
    public static double[] doubles(Value v) {
        Folded f = folded(v);
        return f == null || f.integer() ? null : f.reals().clone();
    }

    /** The single number of a one-element numeric constant expression. */
    public static OptionalDouble scalar(Value v) {
        Folded f = folded(v);
        return f == null || f.size() != 1 || f.type() == DataType.BOOL ? OptionalDouble.empty() : OptionalDouble.of(f.real(0));
    }

    static Folded folded(Value v) {
        return new Evaluation().fold(v);
    }

    /**
     * One evaluation: shared subexpressions are folded once, and the node budget bounds each top-level question. A
     * {@link CanonicalView} keeps one for its whole (read-only) pass, so no value is folded twice.
     */
    static final class Evaluation {
        private final Map<Value, Optional<Folded>> memo = new IdentityHashMap<>();
        private int budget = MAX_NODES;
        private int depth;

        /** A top-level question: a fresh node budget. */
        Folded evaluate(Value v) {
            if (depth == 0) {
                budget = MAX_NODES;
            }
            return fold(v);
        }

        Folded fold(Value v) {
            if (v == null) {
                return null;
            }
            Optional<Folded> known = memo.get(v);
            if (known != null) {
                return known.orElse(null);
            }
            depth++;
            Folded f;
            try {
                f = compute(v);
            } finally {
                depth--;
            }
            memo.put(v, Optional.ofNullable(f));
            return f;
        }

        private Folded compute(Value v) {
            Tensor stored = Constants.tensor(v);
            if (stored != null) {
                return stored.elementCount() <= MAX_ELEMENTS ? Folded.of(stored) : null;
            }
            Node p = v.producer();
            if (p == null || !p.isDefaultDomain() || budget-- <= 0 || p.output(0) != v) {
                return null;
            }
            Folded f = switch (p.opType()) {
                case "Shape" -> shape(p);
                case "Size" -> size(p);
                case "Identity" -> fold(p.input(0));
                case "Cast" -> cast(p);
                case "Neg", "Sqrt", "Reciprocal", "Abs", "Exp", "Log", "Floor", "Ceil" -> unary(p);
                case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mod" -> binary(p);
                case "Reshape" -> reshape(p);
                case "Flatten" -> flatten(p);
                case "Unsqueeze" -> unsqueeze(p);
                case "Squeeze" -> squeeze(p);
                case "Transpose" -> Layout.transpose(fold(p.input(0)), p.attribute("perm").map(Attribute::intsValue).orElse(null));
                case "Gather" -> Layout.gather(fold(p.input(0)), fold(p.input(1)), p.intAttr("axis", 0));
                case "Slice" -> slice(p);
                case "Concat" -> concat(p);
                case "ConstantOfShape" -> constantOfShape(p);
                case "Range" -> range(p);
                default -> null;
            };
            return f != null && f.size() <= MAX_ELEMENTS ? f : null;
        }

        private Folded shape(Node p) {
            long[] dims = StaticShapes.of(p.input(0));
            if (dims == null) {
                return null;
            }
            int rank = dims.length;
            int start = (int) clampAxis(p.intAttr("start", 0), rank);
            int end = (int) clampAxis(p.intAttr("end", rank), rank);
            long[] out = java.util.Arrays.copyOfRange(dims, start, Math.max(start, end));
            return Folded.ofInts(DataType.INT64, new long[] {out.length}, out);
        }

        private static long clampAxis(long a, int rank) {
            long x = a < 0 ? a + rank : a;
            return Math.max(0, Math.min(rank, x));
        }

        private Folded size(Node p) {
            long[] dims = StaticShapes.of(p.input(0));
            if (dims == null) {
                return null;
            }
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return Folded.ofInts(DataType.INT64, new long[0], new long[] {n});
        }

        private Folded cast(Node p) {
            Folded in = fold(p.input(0));
            int to = (int) p.intAttr("to", 0);
            if (in == null || !DataType.isKnownCode(to) || !Folded.isSupported(DataType.fromCode(to))) {
                return null;
            }
            return in.castTo(DataType.fromCode(to));
        }

        private Folded unary(Node p) {
            Folded in = fold(p.input(0));
            return in == null ? null : Arithmetic.unary(p.opType(), in);
        }

        private Folded binary(Node p) {
            Folded a = fold(p.input(0));
            Folded b = a == null ? null : fold(p.input(1));
            return b == null ? null : Arithmetic.binary(p.opType(), a, b, p.intAttr("fmod", 0));
        }

        private Folded reshape(Node p) {
            Folded in = fold(p.input(0));
            Folded shape = in == null ? null : fold(p.input(1));
            if (shape == null || !shape.integer()) {
                return null;
            }
            long[] dims = StaticShapes.reshape(in.dims(), shape.ints(), p.intAttr("allowzero", 0));
            return dims == null || count(dims) != in.size() ? null : in.reshaped(dims);
        }

        private Folded flatten(Node p) {
            Folded in = fold(p.input(0));
            if (in == null) {
                return null;
            }
            int rank = in.dims().length;
            long axis = p.intAttr("axis", 1);
            int a = (int) (axis < 0 ? axis + rank : axis);
            if (a < 0 || a > rank) {
                return null;
            }
            long outer = count(java.util.Arrays.copyOfRange(in.dims(), 0, a));
            return in.reshaped(new long[] {outer, in.size() / Math.max(1, outer)});
        }

        /** Axes from the attribute (before opset 13) or the second input, else null when given but not constant. */
        private long[] axes(Node p, int inputIndex) {
            Optional<Attribute> attr = p.attribute("axes");
            if (attr.isPresent()) {
                return attr.get().intsValue();
            }
            if (p.input(inputIndex) == null) {
                return new long[0];
            }
            Folded f = fold(p.input(inputIndex));
            return f == null || !f.integer() ? null : f.ints();
        }

        private Folded unsqueeze(Node p) {
            Folded in = fold(p.input(0));
            long[] axes = in == null ? null : axes(p, 1);
            return axes == null ? null : Layout.unsqueeze(in, axes);
        }

        private Folded squeeze(Node p) {
            Folded in = fold(p.input(0));
            long[] axes = in == null ? null : axes(p, 1);
            return axes == null ? null : Layout.squeeze(in, axes);
        }

        private Folded slice(Node p) {
            Folded in = fold(p.input(0));
            if (in == null) {
                return null;
            }
            long[] starts;
            long[] ends;
            long[] axes;
            long[] steps = null;
            if (p.attribute("starts").isPresent()) { // opset 1-9
                starts = p.attribute("starts").get().intsValue();
                ends = p.attribute("ends").map(Attribute::intsValue).orElse(null);
                axes = p.attribute("axes").map(Attribute::intsValue).orElse(null);
            } else {
                starts = longsOf(p.input(1));
                ends = longsOf(p.input(2));
                axes = p.input(3) == null ? null : longsOf(p.input(3));
                if (p.input(3) != null && axes == null) {
                    return null;
                }
                steps = p.input(4) == null ? null : longsOf(p.input(4));
                if (p.input(4) != null && steps == null) {
                    return null;
                }
            }
            return starts == null || ends == null ? null : Layout.slice(in, starts, ends, axes, steps);
        }

        private long[] longsOf(Value v) {
            Folded f = fold(v);
            return f == null || !f.integer() ? null : f.ints();
        }

        private Folded concat(Node p) {
            Folded[] parts = new Folded[p.inputs().size()];
            for (int i = 0; i < parts.length; i++) {
                parts[i] = fold(p.input(i));
                if (parts[i] == null) {
                    return null;
                }
            }
            return Layout.concat(parts, p.intAttr("axis", 0));
        }

        private Folded constantOfShape(Node p) {
            long[] dims = longsOf(p.input(0));
            if (dims == null || count(dims) > MAX_ELEMENTS) {
                return null;
            }
            Tensor fill = p.attribute("value").filter(a -> a.kind() == Attribute.Kind.TENSOR).map(Attribute::tensorValue)
                    .orElse(null);
            Folded one = fill == null ? Folded.ofReals(DataType.FLOAT, new long[0], new double[] {0}) : Folded.of(fill);
            if (one == null || one.size() != 1) {
                return null;
            }
            int[] zeros = new int[(int) count(dims)];
            return one.pick(dims, zeros);
        }

        private Folded range(Node p) {
            Folded start = fold(p.input(0));
            Folded limit = fold(p.input(1));
            Folded delta = fold(p.input(2));
            if (start == null || limit == null || delta == null || delta.real(0) == 0) {
                return null;
            }
            double s = start.real(0);
            double d = delta.real(0);
            long n = Math.max(0, (long) Math.ceil((limit.real(0) - s) / d));
            if (n > MAX_ELEMENTS) {
                return null;
            }
            if (start.integer()) {
                long[] out = new long[(int) n];
                for (int i = 0; i < n; i++) {
                    out[i] = start.integer(0) + i * delta.integer(0);
                }
                return Folded.ofInts(start.type(), new long[] {n}, out);
            }
            double[] out = new double[(int) n];
            for (int i = 0; i < n; i++) {
                out[i] = Folded.round(start.type(), s + i * d);
            }
            return Folded.ofReals(start.type(), new long[] {n}, out);
        }
    }

    static long count(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }
}
