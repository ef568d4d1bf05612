package io.onnxslanc.match;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;

/** The pieces decomposed LayerNorm and RMSNorm share: squaring, dividing by the root of the variance, the affine tail. */
final class DecomposedSteps {
    private static final Set<DataType> FLOAT_TYPES = Set.of(DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16,
            DataType.DOUBLE);

    private DecomposedSteps() {
    }

    /** Cast to a float type (the "Cast back" of a mixed-precision norm). */
    static boolean isFloatCast(Node n) {
        return n != null && n.is("Cast") && n.attribute("to").isPresent()
                && DataType.isKnownCode((int) n.intAttr("to", 0))
                && FLOAT_TYPES.contains(DataType.fromCode((int) n.intAttr("to", 0)));
    }

    /** Cast up to the statistics type at the norm's input (FLOAT, as PyTorch and ONNX's stash_type do; DOUBLE too). */
    static boolean isUpCast(Node n) {
        long to = n == null ? 0 : n.intAttr("to", 0);
        return n != null && n.is("Cast") && (to == DataType.FLOAT.code() || to == DataType.DOUBLE.code());
    }

    /** Pow(v, 2) or Mul(v, v). */
    static boolean isSquareOf(Node n, Value v) {
        if (n == null || v == null || n.input(0) != v) {
            return false;
        }
        if (n.is("Mul")) {
            return n.inputs().size() == 2 && n.input(1) == v;
        }
        if (n.is("Pow")) {
            OptionalDouble exponent = Constants.scalar(n.input(1));
            return exponent.isPresent() && exponent.getAsDouble() == 2.0;
        }
        return false;
    }

    /** Consumers of {@code v} that square it. */
    static List<Node> squaresOf(Chain chain, Value v) {
        List<Node> out = new ArrayList<>();
        for (Node n : chain.consumers(v, "Pow")) {
            if (isSquareOf(n, v)) {
                out.add(n);
            }
        }
        for (Node n : chain.consumers(v, "Mul")) {
            if (isSquareOf(n, v)) {
                out.add(n);
            }
        }
        return out;
    }

    /** ReduceMean nodes averaging {@code v} over its last axis. */
    static List<Node> lastAxisMeansOf(Chain chain, Value v) {
        return chain.consumers(v, "ReduceMean").stream()
                .filter(n -> n.input(0) == v && Reductions.reducesLastAxis(n, "ReduceMean")).toList();
    }

    /**
     * The normalising step.
     *
     * @param value      numerator / sqrt(variance + eps)
     * @param epsilon    where eps lives
     * @param statistics the root (and its reciprocal) that may legitimately leave the norm as side outputs
     */
    record Normalized(Value value, Epsilon epsilon, Set<Value> statistics) {
    }

    /**
     * From the variance (or mean square) to numerator / sqrt(variance + eps): Add eps (optional) ->
     * Sqrt -> Div(numerator, .), or Sqrt -> Reciprocal -> Mul(numerator, .), or Pow(., -0.5) -> Mul.
     * Adds the nodes to the chain on success; leaves it as it was otherwise.
     */
    static Optional<Normalized> divide(Chain chain, Value variance, Value numerator) {
        int mark = chain.mark();
        for (Node add : chain.consumers(variance, "Add")) {
            Optional<Operands.Pair> p = Operands.withOperand(add, variance, DecomposedSteps::isEpsilon);
            if (p.isPresent()) {
                chain.add(add);
                double eps = Constants.scalar(p.get().second()).getAsDouble();
                Optional<Normalized> n = rootAndDivide(chain, add.output(0), numerator,
                        new Epsilon.InTensor(add, p.get().secondIndex(), eps));
                if (n.isPresent()) {
                    return n;
                }
                chain.resetTo(mark);
            }
        }
        return rootAndDivide(chain, variance, numerator, new Epsilon.Absent());
    }

    private static boolean isEpsilon(Value v) {
        OptionalDouble d = Constants.scalar(v);
        return d.isPresent() && d.getAsDouble() >= 0 && Double.isFinite(d.getAsDouble());
    }

    private static Optional<Normalized> rootAndDivide(Chain chain, Value radicand, Value numerator, Epsilon eps) {
        int mark = chain.mark();
        for (Node sqrt : chain.consumers(radicand, "Sqrt")) {
            Value root = sqrt.output(0);
            chain.add(sqrt);
            for (Node div : chain.consumers(root, "Div")) {
                if (div.input(0) == numerator && div.input(1) == root) {
                    chain.add(div);
                    return Optional.of(new Normalized(div.output(0), eps, Set.of(root)));
                }
            }
            for (Node reciprocal : chain.consumers(root, "Reciprocal")) {
                Optional<Value> n = multiplyBy(chain, reciprocal, numerator);
                if (n.isPresent()) {
                    return Optional.of(new Normalized(n.get(), eps, Set.of(root, reciprocal.output(0))));
                }
            }
            chain.resetTo(mark);
        }
        for (Node pow : chain.consumers(radicand, "Pow")) {
            OptionalDouble exponent = Constants.scalar(pow.input(1));
            if (pow.input(0) == radicand && exponent.isPresent() && exponent.getAsDouble() == -0.5) {
                Optional<Value> n = multiplyBy(chain, pow, numerator);
                if (n.isPresent()) {
                    return Optional.of(new Normalized(n.get(), eps, Set.of(pow.output(0))));
                }
            }
        }
        return Optional.empty();
    }

    /** {@code factorNode}'s output times the numerator, in either operand order; adds both nodes on success. */
    private static Optional<Value> multiplyBy(Chain chain, Node factorNode, Value numerator) {
        Value factor = factorNode.output(0);
        for (Node mul : chain.consumers(factor, "Mul")) {
            if (Operands.withOperand(mul, factor, v -> v == numerator).isPresent()) {
                chain.add(factorNode);
                chain.add(mul);
                return Optional.of(mul.output(0));
            }
        }
        return Optional.empty();
    }

    /** The end of the norm: its output and the gain and bias found on the way (null when absent). */
    record Tail(Value output, Value gamma, Value beta) {
    }

    /**
     * Extends the normalised value through the optional steps that follow it, in this order:
     * Cast, Mul gamma, Cast, Add beta (LayerNorm only), Cast, Reshape back (only after a Flatten at the
     * input). At most one Cast in all. A step is taken only when the current value's single use is that
     * step, so the chain never grows past a value someone else reads.
     */
    static Tail affineTail(Chain chain, Value normalized, boolean withBeta, boolean reshapeBack) {
        Value cur = normalized;
        Value gamma = null;
        Value beta = null;
        boolean castTaken = false;
        for (String step : List.of("Cast", "Mul", "Cast", "Add", "Cast", "Reshape")) {
            Node next = chain.soleConsumer(cur);
            if (next == null) {
                break;
            }
            switch (step) {
                case "Cast" -> {
                    if (!castTaken && isFloatCast(next)) {
                        castTaken = true;
                        chain.add(next);
                        cur = next.output(0);
                    }
                }
                case "Mul", "Add" -> {
                    if (!next.is(step) || (step.equals("Add") && !withBeta)) {
                        continue;
                    }
                    Value from = cur;
                    Optional<Operands.Pair> p = Operands.withOperand(next, from,
                            v -> v != from && Constants.parameterSource(v) != null);
                    if (p.isPresent()) {
                        Value source = Constants.parameterSource(p.get().second());
                        if (step.equals("Mul")) {
                            gamma = source;
                        } else {
                            beta = source;
                        }
                        chain.add(next);
                        cur = next.output(0);
                    }
                }
                case "Reshape" -> {
                    if (reshapeBack && next.is("Reshape") && next.input(0) == cur) {
                        chain.add(next);
                        cur = next.output(0);
                    }
                }
                default -> throw new IllegalStateException(step);
            }
        }
        return new Tail(cur, gamma, beta);
    }

    /**
     * Final conditions and the site: nothing but the output and the allowed statistics leaves the chain,
     * and the norm reads its input at least once.
     */
    static Optional<NormSite> site(NormKind kind, Chain chain, Node root, Value input, Normalized normalized, Tail tail,
                                   Set<Value> moreStatistics, long normalizedFromAxis) {
        Set<Value> mayEscape = new HashSet<>(normalized.statistics());
        mayEscape.addAll(moreStatistics);
        Optional<List<Value>> escaping = chain.escapingValues(tail.output(), mayEscape);
        List<Value.Use> entry = chain.usesInside(input);
        if (escaping.isEmpty() || entry.isEmpty()) {
            return Optional.empty();
        }
        long hidden = Constants.normalizedSize(tail.gamma(), input, normalizedFromAxis);
        return Optional.of(new NormSite(kind, root, input, null, entry, tail.gamma(), tail.beta(), normalized.epsilon(),
                hidden, chain.nodes(), tail.output(), escaping.get()));
    }
}
