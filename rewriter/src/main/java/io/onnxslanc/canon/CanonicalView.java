package io.onnxslanc.canon;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Reductions;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A read-only, canonical reading of a graph for matchers (docs/canonical-form.md). The model is never changed: the
 * view answers "what does this value compute?" with a {@link Term}, so that one pattern per semantic form matches
 * every spelling. The rules:
 * <ul>
 *   <li>float -&gt; float Cast and Identity are transparent ({@link #strip});</li>
 *   <li>Reciprocal(x), Div(1, x), Pow(x, -1) read as {@link Term.Reciprocal};</li>
 *   <li>Sqrt(x), Pow(x, 0.5) as {@link Term.Sqrt}; Pow(x, -0.5) and any reciprocal of a square root (or square root
 *       of a reciprocal) as {@link Term.Rsqrt};</li>
 *   <li>Mul(x, x), Pow(x, 2) as {@link Term.Square};</li>
 *   <li>ReduceMean, and ReduceSum(...) / d or * (1/d) with d the static number of reduced elements, as a mean
 *       ({@link Term.Reduction}), axes given as attribute (opset &lt; 18) or input;</li>
 *   <li>constant expressions of initializers and Constant nodes as {@link Term.Constant} (values via
 *       {@link ConstantFolder});</li>
 *   <li>Add / Mul are commutative: callers try both operand orders ({@link #either}).</li>
 * </ul>
 * A new spelling of an existing meaning is one more rule here, not a new pattern. Terms are cached per view; a view
 * is meant for one matching pass over an unchanged graph.
 */
public final class CanonicalView {
    private static final double RELATIVE_TOLERANCE = 1e-6; // a float32 1/d is not exactly 1/d
    private static final int MAX_STRIP = 16;

    private final Map<Value, Term> terms = new IdentityHashMap<>();
    private final ConstantFolder.Evaluation constants = new ConstantFolder.Evaluation();
    /** Each graph's node positions, built on first use (the view is only used while the graph is not edited). */
    private final Map<io.onnxslanc.ir.Graph, Map<Node, Integer>> positions = new IdentityHashMap<>();

    /** The position of {@code n} in its graph's node list, in constant time (a list's indexOf would make matching quadratic). */
    public int position(Node n) {
        Map<Node, Integer> at = positions.computeIfAbsent(n.graph(), g -> {
            Map<Node, Integer> m = new IdentityHashMap<>();
            List<Node> nodes = g.nodes();
            for (int i = 0; i < nodes.size(); i++) {
                m.put(nodes.get(i), i);
            }
            return m;
        });
        return at.getOrDefault(n, Integer.MAX_VALUE);
    }

    /** A value seen through pass-through ops, and the ops passed. */
    public record Stripped(Value base, List<Node> passed) {
    }

    /** Follows float -&gt; float Casts and Identities back from {@code v}. */
    public Stripped strip(Value v) {
        List<Node> passed = new ArrayList<>();
        Value cur = v;
        for (int i = 0; cur != null && i < MAX_STRIP; i++) {
            Node p = cur.producer();
            if (p == null || !isPassThrough(p)) {
                break;
            }
            passed.add(p);
            cur = p.input(0);
        }
        return new Stripped(cur, List.copyOf(passed));
    }

    /** Identity, or a Cast between float types (the value is kept up to rounding). */
    public static boolean isPassThrough(Node p) {
        if (p.is("Identity")) {
            return p.input(0) != null;
        }
        if (!p.is("Cast") || p.input(0) == null) {
            return false;
        }
        int to = (int) p.intAttr("to", 0);
        DataType from = p.input(0).elemType();
        boolean toFloat = DataType.isKnownCode(to) && DataType.fromCode(to).isFloatingPoint();
        return toFloat && (from == null || from.isFloatingPoint()); // an untyped source: exporters cast floats
    }

    /** Whether two values are the same after stripping pass-through ops. */
    public boolean same(Value a, Value b) {
        return a != null && b != null && strip(a).base() == strip(b).base();
    }

    /**
     * Whether {@code b} computes the same as {@code a}: the same value after stripping, or the same op with the same
     * attributes over equivalent inputs (an exporter that writes {@code mean(x)} twice, once for the numerator and
     * once inside the variance). The nodes of {@code b}'s copy that are not shared with {@code a} go to
     * {@code copyNodes}, so a match can claim them too.
     */
    public boolean equivalent(Value a, Value b, List<Node> copyNodes) {
        return equivalent(a, b, copyNodes, 6);
    }

    private boolean equivalent(Value a, Value b, List<Node> copyNodes, int depth) {
        if (a == null || b == null) {
            return a == b;
        }
        Stripped sa = strip(a);
        Stripped sb = strip(b);
        if (sa.base() == sb.base()) {
            return true;
        }
        Node p = sa.base() == null ? null : sa.base().producer();
        Node q = sb.base() == null ? null : sb.base().producer();
        if (depth == 0 || p == null || q == null || !p.opType().equals(q.opType()) || !p.domain().equals(q.domain())
                || p.inputs().size() != q.inputs().size() || p.outputs().indexOf(sa.base()) != q.outputs().indexOf(sb.base())
                || !sameAttributes(p, q)) {
            return false;
        }
        List<Node> trial = new ArrayList<>(sb.passed());
        trial.add(q);
        for (int i = 0; i < p.inputs().size(); i++) {
            if (!equivalent(p.input(i), q.input(i), trial, depth - 1)) {
                return false;
            }
        }
        copyNodes.addAll(trial);
        return true;
    }

    private static boolean sameAttributes(Node p, Node q) {
        if (!p.attributes().keySet().equals(q.attributes().keySet())) {
            return false;
        }
        for (Attribute a : p.attributes().values()) {
            Object x = a.value();
            Object y = q.attribute(a.name()).get().value();
            boolean same = x instanceof long[] l ? y instanceof long[] m && java.util.Arrays.equals(l, m)
                    : x instanceof float[] f ? y instanceof float[] g && java.util.Arrays.equals(f, g)
                    : x instanceof byte[] s ? y instanceof byte[] t && java.util.Arrays.equals(s, t)
                    : java.util.Objects.equals(x, y);
            if (!same) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code v} depends on shapes and constants only, never on data: Bessel's n / (n - 1) computed from
     * {@code Shape(x)} scales a variance by a number, whatever x holds.
     */
    public boolean isDataIndependent(Value v) {
        return isDataIndependent(v, new int[] {32});
    }

    private boolean isDataIndependent(Value v, int[] budget) {
        if (v == null || budget[0]-- <= 0) {
            return false;
        }
        if (io.onnxslanc.match.Constants.tensor(v) != null) {
            return true;
        }
        Node p = v.producer();
        if (p == null || !p.isDefaultDomain()) {
            return false;
        }
        if (p.opType().equals("Shape") || p.opType().equals("Size")) {
            return true;
        }
        if (p.inputs().isEmpty() || !p.subgraphs().isEmpty()) {
            return false;
        }
        for (Value in : p.inputs()) {
            if (in != null && !isDataIndependent(in, budget)) {
                return false;
            }
        }
        return true;
    }

    /** The canonical reading of {@code v}. */
    public Term term(Value v) {
        Term t = terms.get(v);
        if (t == null) {
            t = compute(v);
            terms.put(v, t);
        }
        return t;
    }

    /** The scalar value of a one-element constant expression (epsilon, exponents, divisors). */
    public OptionalDouble scalar(Value v) {
        Folded f = v == null ? null : constants.evaluate(v);
        return f == null || f.size() != 1 || f.type() == io.onnxslanc.ir.DataType.BOOL ? OptionalDouble.empty()
                : OptionalDouble.of(f.real(0));
    }

    /** Whether {@code v} is a constant expression. */
    public boolean isConstant(Value v) {
        return v != null && (io.onnxslanc.match.Constants.tensor(v) != null || constants.evaluate(v) != null);
    }

    /** The two operands of a binary Term in the order that satisfies {@code firstFits}, else empty. */
    public static Optional<Value[]> either(Term.Binary b, java.util.function.Predicate<Value> firstFits) {
        if (firstFits.test(b.left())) {
            return Optional.of(new Value[] {b.left(), b.right()});
        }
        if (firstFits.test(b.right())) {
            return Optional.of(new Value[] {b.right(), b.left()});
        }
        return Optional.empty();
    }

    private Term compute(Value v) {
        Stripped s = strip(v);
        Value base = s.base();
        if (base == null) {
            return new Term.Opaque(v, s.passed());
        }
        if (isConstant(base)) {
            return new Term.Constant(base, List.of());
        }
        Node p = base.producer();
        if (p == null || !p.isDefaultDomain() || p.output(0) != base) {
            return new Term.Opaque(base, s.passed());
        }
        List<Node> nodes = new ArrayList<>(s.passed());
        nodes.add(p);
        Term t = switch (p.opType()) {
            case "Reciprocal" -> reciprocalOf(p.input(0), nodes);
            case "Sqrt" -> sqrtOf(p.input(0), nodes);
            case "Pow" -> pow(p, nodes);
            case "Div" -> div(p, nodes);
            case "Mul" -> mul(p, nodes);
            case "Add", "Sub" -> binary(p, nodes);
            case "ReduceMean", "ReduceSum" -> reduction(p, p.opType().equals("ReduceMean"), nodes);
            default -> null;
        };
        return t != null ? t : new Term.Opaque(base, s.passed());
    }

    /** 1 / x, folding 1 / sqrt(x) into rsqrt. */
    private Term reciprocalOf(Value x, List<Node> nodes) {
        if (x == null) {
            return null;
        }
        Term inner = term(x);
        if (inner instanceof Term.Sqrt sq) {
            return new Term.Rsqrt(sq.of(), concat(nodes, sq.nodes()));
        }
        if (inner instanceof Term.Rsqrt rs) { // 1 / rsqrt(y) = sqrt(y)
            return new Term.Sqrt(rs.of(), concat(nodes, rs.nodes()));
        }
        return new Term.Reciprocal(x, List.copyOf(nodes));
    }

    /** sqrt(x), folding sqrt(1 / y) into rsqrt(y). */
    private Term sqrtOf(Value x, List<Node> nodes) {
        if (x == null) {
            return null;
        }
        if (term(x) instanceof Term.Reciprocal r) {
            return new Term.Rsqrt(r.of(), concat(nodes, r.nodes()));
        }
        return new Term.Sqrt(x, List.copyOf(nodes));
    }

    private Term pow(Node p, List<Node> nodes) {
        OptionalDouble e = scalar(p.input(1));
        if (e.isEmpty() || p.input(0) == null) {
            return binaryOf("Pow", p, nodes);
        }
        double exponent = e.getAsDouble();
        if (exponent == 2) {
            return new Term.Square(p.input(0), List.copyOf(nodes));
        }
        if (exponent == 0.5) {
            return sqrtOf(p.input(0), nodes);
        }
        if (exponent == -0.5) {
            return new Term.Rsqrt(p.input(0), List.copyOf(nodes));
        }
        if (exponent == -1) {
            return reciprocalOf(p.input(0), nodes);
        }
        return binaryOf("Pow", p, nodes);
    }

    private Term div(Node p, List<Node> nodes) {
        OptionalDouble numerator = scalar(p.input(0));
        if (numerator.isPresent() && numerator.getAsDouble() == 1 && p.input(1) != null) {
            return reciprocalOf(p.input(1), nodes);
        }
        Term mean = meanOfSum(p.input(0), p.input(1), false, nodes);
        return mean != null ? mean : binaryOf("Div", p, nodes);
    }

    private Term mul(Node p, List<Node> nodes) {
        if (p.inputs().size() == 2 && same(p.input(0), p.input(1))) {
            return new Term.Square(p.input(0), List.copyOf(nodes));
        }
        Term mean = meanOfSum(p.input(0), p.input(1), true, nodes);
        if (mean == null) {
            mean = meanOfSum(p.input(1), p.input(0), true, nodes);
        }
        return mean != null ? mean : binaryOf("Mul", p, nodes);
    }

    /** ReduceSum(x) / d, or ReduceSum(x) * (1/d), read as a mean when d is the number of reduced elements. */
    private Term meanOfSum(Value sum, Value divisor, boolean multiplied, List<Node> nodes) {
        Value sumBase = sum == null ? null : strip(sum).base();
        if (sumBase == null || sumBase.producer() == null || !sumBase.producer().is("ReduceSum") || divisor == null
                || !(term(sum) instanceof Term.Reduction r) || r.mean()) {
            return null;
        }
        OptionalDouble c = scalar(divisor);
        if (c.isEmpty() || r.reducedDim() <= 0) {
            return null;
        }
        double d = multiplied ? 1 / c.getAsDouble() : c.getAsDouble();
        if (Math.abs(d - r.reducedDim()) > RELATIVE_TOLERANCE * r.reducedDim()) {
            return null;
        }
        return new Term.Reduction(r.of(), true, r.axes(), r.lastAxis(), r.keepDims(), r.reducedDim(), concat(nodes, r.nodes()));
    }

    private Term binary(Node p, List<Node> nodes) {
        return binaryOf(p.opType(), p, nodes);
    }

    private Term binaryOf(String op, Node p, List<Node> nodes) {
        if (p.inputs().size() != 2 || p.input(0) == null || p.input(1) == null) {
            return null;
        }
        return new Term.Binary(op, p.input(0), p.input(1), List.copyOf(nodes));
    }

    private Term reduction(Node p, boolean mean, List<Node> nodes) {
        Value x = p.input(0);
        if (x == null) {
            return null;
        }
        long[] axes = axes(p);
        boolean keep = p.intAttr("keepdims", 1) == 1;
        int rank = Reductions.rank(x);
        boolean last;
        long reduced = -1;
        if (axes == null) {
            last = false;
        } else if (axes.length == 0) {
            last = p.intAttr("noop_with_empty_axes", 0) == 0 && rank == 1;
        } else {
            last = axes.length == 1 && (axes[0] == -1 || (rank > 0 && axes[0] == rank - 1));
        }
        if (axes != null && axes.length >= 1) {
            reduced = 1;
            for (long a : axes) {
                long dim = StaticShapes.dim(x, a);
                if (dim < 0) {
                    reduced = -1;
                    break;
                }
                reduced *= dim;
            }
        }
        return new Term.Reduction(x, mean, axes, last, keep, reduced, List.copyOf(nodes));
    }

    /** The axes: attribute, else the constant second input; empty when none given; null when computed. */
    private static long[] axes(Node n) {
        Optional<Attribute> attr = n.attribute("axes");
        if (attr.isPresent()) {
            return attr.get().intsValue();
        }
        if (n.input(1) == null) {
            return new long[0];
        }
        return ConstantFolder.longs(n.input(1));
    }

    private static List<Node> concat(List<Node> a, List<Node> b) {
        List<Node> out = new ArrayList<>(a);
        for (Node n : b) {
            if (!out.contains(n)) {
                out.add(n);
            }
        }
        return List.copyOf(out);
    }
}
