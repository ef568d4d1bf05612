package io.onnxslanc.match;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.List;

/**
 * One recognised norm, as an immutable record of what the rewrite needs.
 *
 * @param kind        its form
 * @param root        the fused node, or the first node of a decomposed chain (reported name)
 * @param input       the tensor whose statistics the norm computes (for Skip* ops: the "input" operand)
 * @param skip        Skip* ops only: the "skip" operand added to input inside the op, else null
 * @param entryUses   the uses of {@code input} (and of {@code skip}) that belong to the norm: exactly the
 *                    edges that SLaNC rescales; other consumers of the residual stream keep the unscaled tensor
 * @param gamma       the gain (an initializer value), or null
 * @param beta        the bias, or null
 * @param epsilon     where epsilon lives
 * @param hiddenSize  the normalised dimension d, or -1 when unknown
 * @param nodes       every node of the norm (one for fused forms)
 * @param output      the normalised output
 */
public record NormSite(NormKind kind, Node root, Value input, Value skip, List<Value.Use> entryUses,
                       Value gamma, Value beta, Epsilon epsilon, long hiddenSize, List<Node> nodes, Value output) {

    public NormSite {
        entryUses = List.copyOf(entryUses);
        nodes = List.copyOf(nodes);
    }

    public String name() {
        return root.name();
    }
}
