package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.blocks.AttentionBlocks.Attention;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * An attention written out as ops: softmax(Q K^T) V with MatMul or Einsum cores. From the probs @ V product along V
 * to W_v ({@link ValuePath}), and from the probabilities back through Softmax, the mask and the scaling to Q @ K^T
 * and the query projection W_q.
 */
final class UnfusedAttention {
    /** Ops a query may pass between its projection and Q @ K^T: layout, scaling, rotary embedding arithmetic. */
    private static final Set<String> QUERY_PASS = Set.of("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten",
            "Identity", "Cast", "Mul", "Div", "Add", "Sub", "Neg", "Slice", "Split", "Concat", "Gather", "Expand", "Where",
            "Cos", "Sin");

    private UnfusedAttention() {
    }

    /** The attention whose probs @ V product reads {@code probs} and {@code value}: W_v along V, then the heads. */
    static Found<Attention> unfused(LinearLayer wo, Node core, Value probs, Value value) {
        Found<ValuePath> path = ValuePath.of(value);
        if (!path.ok()) {
            return path.cast();
        }
        LinearLayer wv = path.value().wv();
        Found<String> dims = AttentionBlocks.checkDims(wv, wo);
        if (!dims.ok()) {
            return dims.cast();
        }
        return AttentionHeads.fromReshapes(wo, path.value(), probs);
    }

    /**
     * The Q operand of the Q @ K^T product (MatMul or Einsum) found from the probabilities back through Softmax,
     * the mask, a position bias and the 1/sqrt(d) scaling; null when the path is not that simple.
     */
    static Value queryOperand(Value probs) {
        if (probs == null) {
            return null;
        }
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Value> frontier = new ArrayList<>(List.of(probs));
        for (int depth = 0; depth < 8 && !frontier.isEmpty(); depth++) {
            List<Value> next = new ArrayList<>();
            for (Value v : frontier) {
                Node p = v.producer();
                if (p == null || !seen.add(p)) {
                    continue;
                }
                if (p.is("MatMul") && !GraphOps.isConstant(p.input(0)) && !GraphOps.isConstant(p.input(1))) {
                    return p.input(0);
                }
                int q = Einsums.queryOperand(p);
                if (q >= 0) {
                    return p.input(q);
                }
                if (Set.of("Softmax", "Cast", "Add", "Sub", "Div", "Mul", "Where").contains(p.opType())) {
                    for (Value in : p.inputs()) {
                        if (in != null && !GraphOps.isConstant(in)) {
                            next.add(in);
                        }
                    }
                }
            }
            frontier = next;
        }
        return null;
    }

    /**
     * The projection W_q of an attention block, from its probabilities: the one linear layer the Q operand is
     * computed from, through layout ops, scaling and rotary embeddings (whose cos / sin tables lead to graph inputs
     * or constants, not to a linear layer); null when there is not exactly one.
     */
    static LinearLayer queryProjection(Value probs) {
        Value q = queryOperand(probs);
        if (q == null) {
            return null;
        }
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Value> todo = new ArrayDeque<>(List.of(q));
        LinearLayer found = null;
        while (!todo.isEmpty() && seen.size() < 96) {
            Node p = todo.pop().producer();
            if (p == null || !seen.add(p)) {
                continue;
            }
            Found<LinearLayer> lin = LinearLayer.of(p);
            if (lin.ok()) {
                if (found != null && found.node() != p) {
                    return null;
                }
                found = lin.value();
                continue;
            }
            if (!(p.domain().isEmpty() || p.domain().equals("ai.onnx")) || !QUERY_PASS.contains(p.opType())) {
                continue; // a product of activations (rotary frequencies), a Softmax: not the query's way
            }
            for (Value in : p.inputs()) {
                if (in != null && !GraphOps.isConstant(in)) {
                    todo.add(in);
                }
            }
        }
        return found;
    }
}
