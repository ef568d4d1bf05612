package io.onnxslanc.match;

import io.onnxslanc.canon.CanonicalView;
import io.onnxslanc.canon.ConstantFolder;
import io.onnxslanc.canon.StaticShapes;
import io.onnxslanc.canon.Term;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * The semantic forms of a decomposed norm, matched on the {@link CanonicalView} so that every spelling of each step
 * is one case (docs/canonical-form.md):
 * <pre>
 *   RMSNorm:   y = x * rsqrt(mean(x^2) + eps)                       [* gain]
 *   LayerNorm: y = (x - mean(x)) * rsqrt(mean((x - mean(x))^2) + eps)   [* gain] [+ bias]
 *              (or the one-pass variance mean(x^2) - mean(x)^2)
 * </pre>
 * x * rsqrt(v) is also x / sqrt(v); means are over the last axis, kept; eps is optional, in either operand order.
 * The match starts at the normalising node (the Div or Mul of x by the root) and reads backwards; the tail (gain,
 * bias, a Cast back, the Reshape after an ONNX Flatten) is read forwards.
 */
final class DecomposedNorm {
    private static final long LAST_AXIS = -1;

    private DecomposedNorm() {
    }

    /** The root term of the normalising step: x / sqrt(r) or x * rsqrt(r). */
    record Normaliser(Value numerator, Value radicand, List<Node> rootNodes, Epsilon rootEpsilon, List<Node> epsNodes) {
        Normaliser(Value numerator, Value radicand, List<Node> rootNodes) {
            this(numerator, radicand, rootNodes, null, List.of());
        }
    }

    /** Reads {@code anchor} as numerator / sqrt(r) or numerator * rsqrt(r), or says why not. */
    static Optional<Normaliser> normaliser(CanonicalView view, Node anchor) {
        if (anchor.inputs().size() != 2 || anchor.input(0) == null || anchor.input(1) == null) {
            return Optional.empty();
        }
        if (anchor.is("Div") && view.term(anchor.input(1)) instanceof Term.Sqrt sq) {
            return Optional.of(new Normaliser(anchor.input(0), sq.of(), sq.nodes()));
        }
        // (x - mean) / (std + eps): epsilon added to the standard deviation
        if (anchor.is("Div") && view.term(anchor.input(1)) instanceof Term.Binary add && add.op().equals("Add")) {
            Optional<Value[]> split = CanonicalView.either(add, v -> isEpsilon(view, v));
            if (split.isPresent() && view.term(split.get()[1]) instanceof Term.Sqrt sq) {
                Node addNode = add.node();
                Value epsOperand = split.get()[0];
                Epsilon eps = new Epsilon.InTensor(addNode, addNode.input(0) == epsOperand ? 0 : 1,
                        view.scalar(epsOperand).getAsDouble(), 1);
                return Optional.of(new Normaliser(anchor.input(0), sq.of(), sq.nodes(), eps, add.nodes()));
            }
        }
        if (anchor.is("Mul")) {
            for (int i = 0; i < 2; i++) {
                if (view.term(anchor.input(i)) instanceof Term.Rsqrt rs) {
                    return Optional.of(new Normaliser(anchor.input(1 - i), rs.of(), rs.nodes()));
                }
            }
        }
        return Optional.empty();
    }

    /** Matches the norm of {@code kind} (decomposed LayerNorm or RMSNorm) whose normalising node is {@code anchor}. */
    static Outcome match(NormKind kind, CanonicalView view, Node anchor) {
        Optional<Normaliser> n = normaliser(view, anchor);
        if (n.isEmpty()) {
            return Outcome.fail("'" + anchor.name() + "' (" + anchor.opType() + ") divides by no square root");
        }
        return match(kind, view, anchor, n.get());
    }

    static Outcome match(NormKind kind, CanonicalView view, Node anchor, Normaliser n) {
        List<Node> nodes = new ArrayList<>(n.rootNodes());
        nodes.addAll(n.epsNodes());
        nodes.add(anchor);
        Set<Value> statistics = new HashSet<>(outputs(n.rootNodes()));
        statistics.addAll(outputs(n.epsNodes()));

        // a gain applied before the division: gain * (x - mean) / std
        Value numerator = n.numerator();
        Value gainBefore = null;
        if (view.term(numerator) instanceof Term.Binary mul && mul.op().equals("Mul")) {
            Optional<Value[]> split = CanonicalView.either(mul, v -> parameter(v) != null);
            if (split.isPresent() && !kind.isRms() && view.term(split.get()[1]) instanceof Term.Binary dev
                    && dev.op().equals("Sub")) { // an RMSNorm's x may itself be a product (Gemma's embedding * sqrt(d))
                gainBefore = parameter(split.get()[0]);
                numerator = split.get()[1];
                nodes.addAll(mul.nodes());
            }
        }
        n = new Normaliser(numerator, n.radicand(), n.rootNodes(), n.rootEpsilon(), n.epsNodes());

        // radicand = variance [+ eps] (eps inside the root), the variance possibly times a data-independent factor
        Value variance = n.radicand();
        Epsilon eps = n.rootEpsilon() != null ? n.rootEpsilon() : new Epsilon.Absent();
        variance = withoutFactors(view, variance, nodes);
        Term r = view.term(variance);
        if (n.rootEpsilon() == null && r instanceof Term.Binary add && add.op().equals("Add")) {
            Optional<Value[]> split = CanonicalView.either(add, v -> isEpsilon(view, v));
            if (split.isPresent()) {
                Node addNode = add.node();
                Value epsOperand = split.get()[0];
                eps = new Epsilon.InTensor(addNode, addNode.input(0) == epsOperand ? 0 : 1, view.scalar(epsOperand).getAsDouble());
                nodes.addAll(add.nodes());
                variance = withoutFactors(view, split.get()[1], nodes);
            }
        }

        // variance = mean(d^2), d = numerator (RMSNorm: d = x; LayerNorm: d = x - mean(x)), or the one-pass form
        Value x;
        Term v = view.term(variance);
        if (kind.isRms()) {
            String why = meanOfSquaresOf(view, v, n.numerator(), nodes);
            if (why != null) {
                return Outcome.fail(why);
            }
            x = n.numerator();
        } else {
            if (!(view.term(n.numerator()) instanceof Term.Binary sub && sub.op().equals("Sub"))) {
                return Outcome.fail("the normalised value is " + describe(view, n.numerator()) + ", not x - mean(x)");
            }
            x = sub.left();
            Term m = view.term(sub.right());
            String meanWhy = lastAxisMean(m, "the subtracted mean");
            if (meanWhy != null) {
                return Outcome.fail(meanWhy);
            }
            Term.Reduction mean = (Term.Reduction) m;
            if (!view.same(mean.of(), x)) {
                return Outcome.fail("the subtracted mean is the mean of " + describe(view, mean.of()) + ", not of "
                        + describe(view, x));
            }
            nodes.addAll(sub.nodes());
            nodes.addAll(mean.nodes());
            statistics.addAll(outputs(mean.nodes()));
            String twoPass = meanOfSquaresOf(view, v, n.numerator(), nodes);
            if (twoPass != null && onePassVariance(view, v, x, sub.right(), nodes) != null) {
                return Outcome.fail(twoPass);
            }
        }

        // the input: x, seen back through Casts (and ONNX's Flatten) that only the norm reads
        Set<Node> members = new HashSet<>(nodes);
        List<Value> dataOperands = dataOperands(view, nodes, x);
        Value input = null;
        boolean flattened = false;
        long flattenAxis = LAST_AXIS;
        for (Value operand : dataOperands) {
            Value cur = operand;
            while (cur.producer() != null && onlyReadBy(cur, members)
                    && (CanonicalView.isPassThrough(cur.producer()) || cur.producer().is("Flatten"))) {
                Node p = cur.producer();
                if (p.is("Flatten")) {
                    flattened = true;
                    flattenAxis = p.intAttr("axis", 1);
                }
                members.add(p);
                nodes.add(p);
                cur = p.input(0);
            }
            if (input != null && input != cur) {
                return Outcome.fail("the norm reads its input as both '" + input.name() + "' and '" + cur.name() + "'");
            }
            input = cur;
        }
        if (input == null) {
            return Outcome.fail("the norm reads no input");
        }

        // the tail, forwards: [Cast] [Mul gain] [Cast] [Add bias] [Cast] [Reshape back]
        Tail tail = tail(view, anchor.output(0), !kind.isRms(), flattened, members, nodes, gainBefore);

        List<Node> ordered = inGraphOrder(nodes, view);
        Optional<List<Value>> escaping = escaping(ordered, members, tail.output(), statistics);
        if (escaping.isEmpty()) {
            return Outcome.fail("an intermediate value of the norm is read outside it: " + firstEscape(ordered, members, tail.output(), statistics));
        }
        List<Value.Use> entry = input.uses().stream().filter(u -> members.contains(u.node())).toList();
        if (entry.isEmpty()) {
            return Outcome.fail("the norm does not read its input");
        }
        long hidden = hiddenSize(tail.gamma(), input, flattened ? flattenAxis : LAST_AXIS);
        return Outcome.of(new NormSite(kind, ordered.get(0), input, null, entry, tail.gamma(), tail.beta(), eps, hidden,
                ordered, tail.output(), escaping.get()));
    }

    /** The variance without Mul / Div by data-independent factors (torch.std's n / (n - 1)); their nodes join. */
    private static Value withoutFactors(CanonicalView view, Value variance, List<Node> nodes) {
        Value cur = variance;
        for (int i = 0; i < 4; i++) {
            if (!(view.term(cur) instanceof Term.Binary b) || !(b.op().equals("Mul") || b.op().equals("Div"))) {
                return cur;
            }
            Value next;
            if (view.isDataIndependent(b.right())) {
                next = b.left();
            } else if (b.op().equals("Mul") && view.isDataIndependent(b.left())) {
                next = b.right();
            } else {
                return cur;
            }
            nodes.addAll(b.nodes());
            cur = next;
        }
        return cur;
    }

    /** Null when {@code v} is mean(d^2) over the last axis with d the same value as {@code d}; else the reason. */
    private static String meanOfSquaresOf(CanonicalView view, Term v, Value d, List<Node> nodes) {
        String why = lastAxisMean(v, "the variance");
        if (why != null) {
            return why;
        }
        Term.Reduction mean = (Term.Reduction) v;
        if (!(view.term(mean.of()) instanceof Term.Square sq)) {
            return "the variance is the mean of " + describe(view, mean.of()) + ", not of a square";
        }
        List<Node> copy = new ArrayList<>();
        if (!view.equivalent(d, sq.of(), copy)) {
            return "the variance is the mean square of " + describe(view, sq.of()) + ", not of the normalised value "
                    + describe(view, d);
        }
        nodes.addAll(copy);
        nodes.addAll(mean.nodes());
        nodes.addAll(sq.nodes());
        return null;
    }

    /** mean(x^2) - m^2 with m the subtracted mean; null when it fits (nodes added), else the reason. */
    private static String onePassVariance(CanonicalView view, Term v, Value x, Value m, List<Node> nodes) {
        if (!(v instanceof Term.Binary sub && sub.op().equals("Sub"))) {
            return "no one-pass variance";
        }
        List<Node> trial = new ArrayList<>();
        if (meanOfSquaresOf(view, view.term(sub.left()), x, trial) != null
                || !(view.term(sub.right()) instanceof Term.Square sm) || !view.same(sm.of(), m)) {
            return "no one-pass variance";
        }
        nodes.addAll(sub.nodes());
        nodes.addAll(trial);
        nodes.addAll(sm.nodes());
        return null;
    }

    /** Null when {@code t} is a mean over the last axis that keeps it; else what it is. */
    static String lastAxisMean(Term t, String role) {
        if (!(t instanceof Term.Reduction red)) {
            return role + " is no mean (" + termName(t) + ")";
        }
        String axes = red.axes() == null ? "computed axes" : red.axes().length == 0 ? "all axes"
                : "axes " + java.util.Arrays.toString(red.axes());
        if (!red.mean()) {
            return role + " is a ReduceSum over " + axes + " not divided by the number of elements"
                    + (red.reducedDim() > 0 ? " (" + red.reducedDim() + ")" : " (not static)");
        }
        if (!red.lastAxis()) {
            return role + " is a mean over " + axes + ", not over the last axis";
        }
        if (!red.keepDims()) {
            return role + " is a mean with keepdims=0";
        }
        return null;
    }

    private static boolean isEpsilon(CanonicalView view, Value v) {
        OptionalDouble d = view.scalar(v);
        return d.isPresent() && d.getAsDouble() >= 0 && Double.isFinite(d.getAsDouble());
    }

    /** The operands through which the chain's nodes read the data x (each use of a value stripping to x). */
    private static List<Value> dataOperands(CanonicalView view, List<Node> nodes, Value x) {
        Value base = view.strip(x).base();
        List<Value> out = new ArrayList<>();
        Set<Node> members = new HashSet<>(nodes);
        for (Node n : nodes) {
            for (Value in : n.inputs()) {
                if (in != null && !members.contains(in.producer()) && view.strip(in).base() == base && !out.contains(in)) {
                    out.add(in);
                }
            }
        }
        if (out.isEmpty()) {
            out.add(x);
        }
        // a pass-through chain between x and its readers that the norm owns is walked by the caller
        return out;
    }

    private static boolean onlyReadBy(Value v, Set<Node> members) {
        return !v.isGraphOutput() && !v.uses().isEmpty() && v.uses().stream().allMatch(u -> members.contains(u.node()));
    }

    record Tail(Value output, Value gamma, Value beta) {
    }

    /** The optional steps after the normalisation, each taken only when it is the current value's single use. */
    private static Tail tail(CanonicalView view, Value normalized, boolean withBeta, boolean reshapeBack, Set<Node> members,
                             List<Node> nodes, Value gainBefore) {
        Value cur = normalized;
        Value gamma = gainBefore;
        Value beta = null;
        boolean castTaken = false;
        for (String step : List.of("Cast", "Mul", "Cast", "Add", "Cast", "Reshape")) {
            Node next = soleConsumer(cur, members);
            if (next == null) {
                break;
            }
            Value from = cur;
            switch (step) {
                case "Cast" -> {
                    if (!castTaken && CanonicalView.isPassThrough(next) && next.is("Cast")) {
                        castTaken = true;
                        cur = take(next, members, nodes);
                    }
                }
                case "Mul", "Add" -> {
                    if (!next.is(step) || (step.equals("Add") && !withBeta) || next.inputs().size() != 2
                            || (step.equals("Mul") && gamma != null)) {
                        continue;
                    }
                    Value other = next.input(0) == from ? next.input(1) : next.input(0);
                    Value source = parameter(other);
                    if (other != from && source != null) {
                        if (step.equals("Mul")) {
                            gamma = source;
                        } else {
                            beta = source;
                        }
                        cur = take(next, members, nodes);
                    }
                }
                case "Reshape" -> {
                    if (reshapeBack && next.is("Reshape") && next.input(0) == cur) {
                        cur = take(next, members, nodes);
                    }
                }
                default -> throw new IllegalStateException(step);
            }
        }
        return new Tail(cur, gamma, beta);
    }

    private static Value take(Node n, Set<Node> members, List<Node> nodes) {
        members.add(n);
        nodes.add(n);
        return n.output(0);
    }

    /**
     * A gain or bias: a stored parameter seen back through Cast / Reshape / (Un)Squeeze (a graph input of static
     * shape counts: some models take their weights as inputs), else any constant expression (1 + w, w * c), whose
     * values {@link ConstantFolder#value} computes. Null when it is neither.
     */
    static Value parameter(Value operand) {
        Value source = Constants.parameterSource(operand);
        if (source != null) {
            return source;
        }
        return ConstantFolder.isConstant(operand) ? operand : null;
    }

    private static Node soleConsumer(Value v, Set<Node> members) {
        if (v == null || v.uses().size() != 1 || v.isGraphOutput()) {
            return null;
        }
        Node n = v.uses().get(0).node();
        return n.graph() == v.graph() && !members.contains(n) ? n : null;
    }

    static long hiddenSize(Value gamma, Value input, long axis) {
        Tensor g = gamma == null ? null : ConstantFolder.value(gamma);
        long n = g != null ? g.elementCount() : gamma == null ? -1 : Constants.elementCount(gamma);
        if (n > 1) {
            return n;
        }
        long trailing = Constants.trailingSize(input, axis);
        return trailing > 0 || axis != LAST_AXIS ? trailing : StaticShapes.dim(input, -1);
    }

    private static List<Value> outputs(List<Node> nodes) {
        List<Value> out = new ArrayList<>();
        nodes.forEach(n -> out.addAll(n.outputs()));
        return out;
    }

    private static List<Node> inGraphOrder(List<Node> nodes, CanonicalView view) {
        List<Node> distinct = new ArrayList<>();
        for (Node n : nodes) {
            if (!distinct.contains(n)) {
                distinct.add(n);
            }
        }
        distinct.sort(Comparator.comparingInt(view::position));
        return distinct;
    }

    /** Values other than the output that leave the chain; empty when one of them is not an allowed statistic. */
    private static Optional<List<Value>> escaping(List<Node> ordered, Set<Node> members, Value output, Set<Value> allowed) {
        List<Value> out = new ArrayList<>();
        for (Node n : ordered) {
            for (Value o : n.outputs()) {
                if (o == output || !leaves(o, members)) {
                    continue;
                }
                if (!allowed.contains(o)) {
                    return Optional.empty();
                }
                out.add(o);
            }
        }
        return Optional.of(out);
    }

    private static String firstEscape(List<Node> ordered, Set<Node> members, Value output, Set<Value> allowed) {
        for (Node n : ordered) {
            for (Value o : n.outputs()) {
                if (o != output && leaves(o, members) && !allowed.contains(o)) {
                    return "'" + o.name() + "' of " + n.opType() + " '" + n.name() + "'";
                }
            }
        }
        return "?";
    }

    private static boolean leaves(Value v, Set<Node> members) {
        return v.isGraphOutput() || v.uses().stream().anyMatch(u -> !members.contains(u.node()));
    }

    /** A short description of what a value is, for reasons. */
    static String describe(CanonicalView view, Value v) {
        if (v == null) {
            return "(absent)";
        }
        Term t = view.term(v);
        Node p = view.strip(v).base() == null ? null : view.strip(v).base().producer();
        String what = t instanceof Term.Opaque ? (p == null ? "input" : p.opType()) : termName(t);
        return what + " '" + v.name() + "'";
    }

    static String termName(Term t) {
        if (t instanceof Term.Reciprocal) {
            return "a reciprocal";
        }
        if (t instanceof Term.Sqrt) {
            return "a square root";
        }
        if (t instanceof Term.Rsqrt) {
            return "a reciprocal square root";
        }
        if (t instanceof Term.Square) {
            return "a square";
        }
        if (t instanceof Term.Reduction r) {
            return r.mean() ? "a mean" : "a sum";
        }
        if (t instanceof Term.Binary b) {
            return b.op();
        }
        return t instanceof Term.Constant ? "a constant" : "an uninterpreted value";
    }
}
