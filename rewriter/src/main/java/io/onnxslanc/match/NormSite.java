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
 * @param gamma       the gain, or null: an initializer or a Constant output, seen back through
 *                    Cast/Flatten/Reshape/Unsqueeze; a graph input when the model takes the gain as input (ONNX's
 *                    operator tests do); or the output of a constant expression such as {@code 1 + w} (Gemma).
 *                    Read its values with {@link io.onnxslanc.canon.ConstantFolder#value}, which covers every case
 * @param beta        the bias, or null (same kinds of value as gamma)
 * @param epsilon     where epsilon lives
 * @param hiddenSize  the normalised dimension d, or -1 when unknown
 * @param nodes       every node of the norm (one for fused forms)
 * @param output      the normalised output
 * @param sideOutputs values of the norm other than {@code output} that are used outside it or are graph
 *                    outputs: a fused op's Mean / InvStdDev outputs, the input_skip_bias_sum of Skip* ops,
 *                    a decomposed norm's mean or standard deviation (ONNX's expanded LayerNormalization
 *                    returns them). They depend on the input's scale, so a rewrite that rescales the input
 *                    must compensate them or leave the norm alone. Usually empty.
 */
public record NormSite(NormKind kind, Node root, Value input, Value skip, List<Value.Use> entryUses,
                       Value gamma, Value beta, Epsilon epsilon, long hiddenSize, List<Node> nodes, Value output,
                       List<Value> sideOutputs) {

    public NormSite {
        entryUses = List.copyOf(entryUses);
        nodes = List.copyOf(nodes);
        sideOutputs = List.copyOf(sideOutputs);
    }

    /** The original signature, for sites without side outputs. */
    public NormSite(NormKind kind, Node root, Value input, Value skip, List<Value.Use> entryUses,
                    Value gamma, Value beta, Epsilon epsilon, long hiddenSize, List<Node> nodes, Value output) {
        this(kind, root, input, skip, entryUses, gamma, beta, epsilon, hiddenSize, nodes, output, List.of());
    }

    public String name() {
        return root.name();
    }

    /**
     * The name that identifies this norm's own gain in reports: the gain initializer, or for a gain computed from
     * initializers ({@code 1 + w}) the largest initializer it is computed from; null without a gain.
     */
    public String gainName() {
        if (gamma == null) {
            return null;
        }
        if (gamma.isInitializer() || gamma.producer() == null) {
            return gamma.name();
        }
        Value best = null;
        java.util.ArrayDeque<Value> todo = new java.util.ArrayDeque<>(List.of(gamma));
        for (int budget = 32; !todo.isEmpty() && budget > 0; budget--) {
            Value v = todo.poll();
            if (v.isInitializer()) {
                if (best == null || v.constant().elementCount() > best.constant().elementCount()) {
                    best = v;
                }
            } else if (v.producer() != null) {
                v.producer().inputs().stream().filter(java.util.Objects::nonNull).forEach(todo::add);
            }
        }
        return best != null ? best.name() : gamma.name();
    }
}
