package io.onnxslanc.canon;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.List;

/**
 * What a value computes, in canonical form ({@link CanonicalView#term}). Operands are the original values (read them
 * with {@link CanonicalView#term} again; compare them with {@link CanonicalView#same}). {@link #nodes()} are the
 * original nodes this reading covers: the op itself, the pass-through Casts / Identities between it and the value
 * asked about, and the inner nodes of a compound reading (e.g. Div and Sqrt for the rsqrt {@code Div(1, Sqrt(x))}).
 */
public sealed interface Term {
    List<Node> nodes();

    /** A value the view does not interpret further (a graph input, an op with no canonical reading). */
    record Opaque(Value value, List<Node> nodes) implements Term {
    }

    /** 1 / x: Reciprocal(x), Div(1, x), Pow(x, -1). */
    record Reciprocal(Value of, List<Node> nodes) implements Term {
    }

    /** sqrt(x): Sqrt(x), Pow(x, 0.5). */
    record Sqrt(Value of, List<Node> nodes) implements Term {
    }

    /** 1 / sqrt(x): Pow(x, -0.5), the reciprocal of a square root, the square root of a reciprocal. */
    record Rsqrt(Value of, List<Node> nodes) implements Term {
    }

    /** x * x: Mul(x, x), Pow(x, 2). */
    record Square(Value of, List<Node> nodes) implements Term {
    }

    /**
     * A reduction: ReduceMean, or ReduceSum divided by (or multiplied by the reciprocal of) the number of reduced
     * elements, read as a mean; a ReduceSum without that division stays a sum.
     *
     * @param axes       the axes as written (attribute or constant input), empty for "all"; null when computed
     * @param lastAxis   whether it reduces exactly the last axis
     * @param keepDims   whether the reduced axis is kept
     * @param reducedDim the number of elements reduced, -1 when not static
     */
    record Reduction(Value of, boolean mean, long[] axes, boolean lastAxis, boolean keepDims, long reducedDim,
                     List<Node> nodes) implements Term {
    }

    /** Add, Sub, Mul or Div of two values that fit no reading above (Add and Mul are commutative). */
    record Binary(String op, Value left, Value right, List<Node> nodes) implements Term {
        public Node node() {
            return nodes.get(nodes.size() - 1);
        }
    }

    /** A constant expression ({@link ConstantFolder}). */
    record Constant(Value value, List<Node> nodes) implements Term {
    }
}
