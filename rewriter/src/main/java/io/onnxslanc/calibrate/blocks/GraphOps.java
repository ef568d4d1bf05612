package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.canon.ConstantFolder;
import io.onnxslanc.match.Constants;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.ir.Walk;
import java.util.Set;

/** Small read-only questions about values and nodes that the block walks ask again and again. */
final class GraphOps {
    /** Ops that only move or relabel data; a walk may pass through them along input 0. */
    static final Set<String> LAYOUT_OPS = Walk.LAYOUT;

    private GraphOps() {
    }

    /** The constant data behind a value: an initializer or a Constant node's output; null otherwise. */
    static Tensor constant(Value v) {
        return Constants.tensor(v);
    }

    /**
     * True for a constant and for a value computed from constants alone: a slice of a packed bias, a folded gain
     * (1 + w), a transposed or cast weight. Their index, bound and shape inputs only need known values (they may be
     * computed from static shapes), their data inputs must be constant in turn.
     */
    static boolean isConstant(Value v) {
        return isConstant(v, 0);
    }

    /** Ops whose result is constant when their data inputs are; the others' inputs are indices, bounds or shapes. */
    private static final Set<String> DATA_ALL_INPUTS = Set.of("Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Pow", "Concat",
            "Cast", "Identity", "Transpose", "Reciprocal", "Abs", "Exp");
    private static final Set<String> DATA_FIRST_INPUT = Set.of("Slice", "Split", "Gather", "Reshape", "Unsqueeze", "Squeeze",
            "Expand", "Flatten");

    private static boolean isConstant(Value v, int depth) {
        if (v == null) {
            return false;
        }
        if (constant(v) != null) {
            return true;
        }
        Node p = v.producer();
        if (p == null || depth > 8 || !(p.domain().isEmpty() || p.domain().equals("ai.onnx"))) {
            return false;
        }
        boolean all = DATA_ALL_INPUTS.contains(p.opType());
        if (!all && !DATA_FIRST_INPUT.contains(p.opType())) {
            return false;
        }
        for (int i = 0; i < p.inputs().size(); i++) {
            Value in = p.input(i);
            if (in == null) {
                continue;
            }
            boolean ok = all || i == 0 ? isConstant(in, depth + 1) : constantLongs(in) != null;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /**
     * Integer contents of a small constant (shapes, axes, split sizes), including values computed from static
     * shapes, or null: the project's one integer folder, {@link ConstantFolder#shapeLongs}.
     */
    static long[] constantLongs(Value v) {
        return ConstantFolder.shapeLongs(v);
    }

    /** The one non-constant operand of a binary node whose other operand is constant, else null. */
    static Value nonConstantOperand(Node n) {
        if (n.inputs().size() != 2 || n.input(0) == null || n.input(1) == null) {
            return null;
        }
        boolean c0 = isConstant(n.input(0));
        boolean c1 = isConstant(n.input(1));
        if (c0 == c1) {
            return null;
        }
        return c0 ? n.input(1) : n.input(0);
    }

    /** The constant operand of a binary node whose other operand is not constant, else null. */
    static Value constantOperand(Node n) {
        Value other = nonConstantOperand(n);
        if (other == null) {
            return null;
        }
        return n.input(0) == other ? n.input(1) : n.input(0);
    }

    /** True for an elementwise Add whose one operand is a constant (a bias). */
    static boolean isBiasAdd(Node n) {
        return n != null && n.is("Add") && nonConstantOperand(n) != null;
    }

    /** Follows input 0 through the given single-data-input ops. */
    static Value through(Value v, Set<String> ops) {
        return Walk.back(v, ops);
    }

    /** Follows layout ops and bias Adds back from a value. */
    static Value throughLayoutAndBias(Value v) {
        Value cur = v;
        for (int guard = 0; guard < 64; guard++) {
            Value next = through(cur, LAYOUT_OPS);
            Node p = next.producer();
            if (isBiasAdd(p)) {
                next = nonConstantOperand(p);
            }
            if (next == cur) {
                return cur;
            }
            cur = next;
        }
        return cur;
    }

    /** A short description for messages: {@code Relu(...)}, {@code 'x'} for graph inputs, {@code constant 'w'}. */
    static String describe(Value v) {
        if (v == null) {
            return "(absent)";
        }
        if (isConstant(v)) {
            return "constant '" + v.name() + "'";
        }
        Node p = v.producer();
        if (p == null) {
            return "'" + v.name() + "'";
        }
        return (p.isDefaultDomain() ? "" : p.domain() + ":") + p.opType() + "(...)";
    }

    /** Rank of a value when its type says so, else -1. */
    static int rank(Value v) {
        return v.type() == null || v.type().shape() == null ? -1 : v.type().shape().size();
    }

    /**
     * The rank from the value's type, else inferred forward from the typed graph inputs and the constants (the
     * TorchScript exporter writes no value_info for intermediates when axes are dynamic); -1 when unknown.
     */
    static int inferredRank(Value v) {
        int typed = rank(v);
        if (typed >= 0) {
            return typed;
        }
        long[] dims = ConstantFolder.dims(v);
        if (dims != null) {
            return dims.length;
        }
        return rankBackward(v, 0);
    }

    private static final Set<String> ARITHMETIC = Set.of("Add", "Sub", "Mul", "Div");

    private static final Set<String> RANK_KEEPING = Set.of("Cast", "Identity", "Relu", "Gelu", "FastGelu", "Tanh", "Sigmoid",
            "Erf", "Neg", "Sqrt", "Softmax", "LayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization",
            "Dropout");

    /**
     * The rank read backwards when forward inference stops (a Reshape with a computed target upstream): through ops
     * that keep the rank of their first input, a MatMul by a 2-D constant, and elementwise ops whose other operand
     * is a constant of rank at most 1 or a value of known rank (the larger rank wins when both are known), and a
     * Reshape whose target has a known length.
     */
    private static int rankBackward(Value v, int depth) {
        int typed = rank(v);
        if (typed >= 0 || depth > 64) {
            return typed;
        }
        long[] dims = depth == 0 ? null : ConstantFolder.dims(v);
        if (dims != null) {
            return dims.length;
        }
        Node p = v.producer();
        if (p == null || !p.isDefaultDomain() && !p.domain().equals("com.microsoft")) {
            return -1;
        }
        if (RANK_KEEPING.contains(p.opType())) {
            return rankBackward(p.input(0), depth + 1);
        }
        if (p.is("Reshape")) {
            long[] target = ShapeValues.of(p.input(1)); // its length is the rank, even with computed entries
            return target == null ? -1 : target.length;
        }
        if (p.is("Pow") && isConstant(p.input(1)) && rank(p.input(1)) <= 1) {
            return rankBackward(p.input(0), depth + 1);
        }
        if (p.is("MatMul") && isConstant(p.input(1)) && rank(p.input(1)) == 2) {
            return rankBackward(p.input(0), depth + 1);
        }
        if (p.isOneOf(ARITHMETIC) && p.inputs().size() == 2) {
            Value other = nonConstantOperand(p);
            if (other != null) {
                Value constant = other == p.input(0) ? p.input(1) : p.input(0);
                return rank(constant) >= 0 && rank(constant) <= 1 ? rankBackward(other, depth + 1) : -1;
            }
            int a = rankBackward(p.input(0), depth + 1);
            int b = a < 0 ? -1 : rankBackward(p.input(1), depth + 1);
            return a < 0 || b < 0 ? -1 : Math.max(a, b);
        }
        return -1;
    }
}
