package io.onnxslanc.match;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.Optional;
import java.util.Set;

/**
 * The one predicate every pattern uses for ReduceMean / ReduceSum: reduces over the last axis
 * only and keeps it (keepdims=1), whether the axes are an attribute (opset &lt; 18) or the second
 * input (opset 18+, an initializer or a Constant), negative (-1) or positive (rank-1, when the
 * rank is known).
 */
public final class Reductions {
    private static final Set<String> UNARY_KEEPING_RANK = Set.of("Cast", "Identity", "Neg", "Sqrt", "Reciprocal", "Abs");
    private static final Set<String> BROADCASTING_BINARY = Set.of("Add", "Sub", "Mul", "Div", "Pow");
    private static final int MAX_RANK_DEPTH = 8;

    private Reductions() {
    }

    /** True when {@code n} is {@code opType} (default domain) averaging or summing over the last axis, keeping it. */
    public static boolean reducesLastAxis(Node n, String opType) {
        if (n == null || !n.is(opType) || n.input(0) == null) {
            return false;
        }
        if (n.intAttr("keepdims", 1) != 1) {
            return false;
        }
        long[] axes = axes(n);
        if (axes == null) {
            return false; // axes computed at run time: cannot tell
        }
        int rank = rank(n.input(0));
        if (axes.length == 0) {
            // no axes means all axes (noop_with_empty_axes=1 would make it the identity)
            return n.intAttr("noop_with_empty_axes", 0) == 0 && rank == 1;
        }
        return axes.length == 1 && (axes[0] == -1 || (rank > 0 && axes[0] == rank - 1));
    }

    /** The axes: an empty array when none are given, null when they come from a non-constant input. */
    private static long[] axes(Node n) {
        Optional<Attribute> attr = n.attribute("axes");
        if (attr.isPresent()) {
            return attr.get().intsValue();
        }
        Value axesInput = n.input(1);
        if (axesInput == null) {
            return new long[0];
        }
        return Constants.longs(axesInput).orElse(null);
    }

    /**
     * The rank of a value: from its type, else inferred through the few producers a norm chain
     * has (Flatten gives 2; casts and other unary ops keep it; broadcasting binary ops take the max).
     * -1 when unknown.
     */
    public static int rank(Value v) {
        return rank(v, 0);
    }

    private static int rank(Value v, int depth) {
        if (v == null || depth > MAX_RANK_DEPTH) {
            return -1;
        }
        if (v.type() != null && v.type().shape() != null) {
            return v.type().shape().size();
        }
        if (Constants.tensor(v) != null) {
            return Constants.tensor(v).dims().length;
        }
        Node p = v.producer();
        if (p == null || !p.isDefaultDomain()) {
            return -1;
        }
        if (p.opType().equals("Flatten")) {
            return 2;
        }
        if (UNARY_KEEPING_RANK.contains(p.opType())) {
            return rank(p.input(0), depth + 1);
        }
        if ((p.opType().equals("ReduceMean") || p.opType().equals("ReduceSum")) && p.intAttr("keepdims", 1) == 1) {
            return rank(p.input(0), depth + 1);
        }
        if (BROADCASTING_BINARY.contains(p.opType())) {
            int a = rank(p.input(0), depth + 1);
            int b = rank(p.input(1), depth + 1);
            return a < 0 || b < 0 ? -1 : Math.max(a, b);
        }
        return -1;
    }
}
