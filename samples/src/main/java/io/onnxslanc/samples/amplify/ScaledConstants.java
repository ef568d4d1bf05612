package io.onnxslanc.samples.amplify;

import io.onnxslanc.match.Constants;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Gives one operand edge its own scaled copy of the constant behind it. The original constant is never edited:
 * it may be shared (a tied embedding, one epsilon Constant for every norm), and other users keep it.
 */
final class ScaledConstants {
    /** Ops a weight may pass through on its way to a MatMul; a scalar factor commutes with all of them. */
    private static final Set<String> PASS_THROUGH = Set.of("Cast", "Identity", "Transpose", "Reshape", "Flatten",
            "Squeeze", "Unsqueeze");

    private ScaledConstants() {
    }

    /**
     * Replaces the constant reaching input {@code index} of {@code consumer} by a copy multiplied by {@code factor}.
     * The constant may sit behind a chain of pass-through ops that only this edge uses; the copy is then put at the
     * chain's root, so the chain carries the scaled values. Returns the new value: an initializer, or a new Constant node's output when the original was one.
     */
    static Value replace(Graph graph, Node consumer, int index, double factor, String role) {
        Node user = consumer;
        int slot = index;
        Value cur = consumer.input(index);
        List<Node> chain = new ArrayList<>();
        while (cur != null && Constants.tensor(cur) == null) {
            Node p = cur.producer();
            if (p == null || !p.isOneOf(PASS_THROUGH)) {
                throw new IllegalArgumentException(role + " of node '" + consumer.name() + "' (" + consumer.opType()
                        + "): operand '" + consumer.input(index).name() + "' is not a constant");
            }
            if (cur.uses().size() != 1 || cur.isGraphOutput()) {
                throw new IllegalArgumentException(role + " of node '" + consumer.name() + "': '" + cur.name()
                        + "' is shared with other nodes behind " + p.opType() + " '" + p.name()
                        + "'; scaling it for one use only is not supported");
            }
            chain.add(p);
            user = p;
            slot = 0;
            cur = p.input(0);
        }
        if (cur == null) {
            throw new IllegalArgumentException(role + " of node '" + consumer.name() + "' is missing");
        }
        Tensor t = scaled(Constants.tensor(cur), factor, role + " '" + cur.name() + "'");
        Value scaled;
        if (cur.isInitializer()) {
            scaled = graph.addConstant(cur.name() + "_amp", t);
        } else {
            // a Constant node stays a Constant node, so that node counts compare across factors
            Node k = graph.addNodeBefore(user, "Constant", "", graph.uniqueName(cur.producer().name() + "_amp"), List.of(),
                    List.of(graph.uniqueName(cur.name() + "_amp")));
            k.setAttribute(Attribute.ofTensor("value", t));
            scaled = k.output(0);
            scaled.setType(TensorType.of(t.dataType(), t.dims()));
        }
        Value old = cur;
        user.setInput(slot, scaled);
        dropIfUnused(graph, old);
        return scaled;
    }

    /** A FLOAT or DOUBLE tensor with every element multiplied by {@code factor}. */
    static Tensor scaled(Tensor t, double factor, String what) {
        if (t.dataType() != DataType.FLOAT && t.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException(what + " is " + t.dataType()
                    + "; residual amplification works on FLOAT (or DOUBLE) models, before any FP16 conversion");
        }
        double[] values = t.toDoubles();
        for (int i = 0; i < values.length; i++) {
            values[i] *= factor; // in double, rounded once to the tensor's type by the encoder
        }
        return ArrayTensor.ofReals(t.dataType(), t.dims(), values);
    }

    /** A scalar constant of the element type of {@code like} (FLOAT when unknown). */
    static Value scalar(Graph graph, String base, double value, Value like) {
        DataType type = like != null && like.elemType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
        return graph.addConstant(base, ArrayTensor.ofReals(type, new long[0], value));
    }

    /** Inserts {@code v * factor} before the first node using {@code v} and points those uses at it. */
    static Node multiplyUses(Graph graph, Value v, List<Value.Use> uses, double factor, String base) {
        Node anchor = null;
        for (Node n : graph.nodes()) {
            if (uses.stream().anyMatch(u -> u.node() == n)) {
                anchor = n;
                break;
            }
        }
        if (anchor == null) {
            throw new IllegalStateException("'" + v.name() + "' has no use in the main graph to scale");
        }
        Value c = scalar(graph, base + "_factor", factor, v);
        Node mul = graph.addNodeBefore(anchor, "Mul", "", graph.uniqueName(base), List.of(v, c),
                List.of(graph.uniqueName(v.name() + "_amp")));
        TensorType type = v.type();
        mul.output(0).setType(type);
        for (Value.Use u : uses) {
            u.node().setInput(u.index(), mul.output(0));
        }
        return mul;
    }

    /** Removes an initializer or Constant node this rewrite left without users. */
    static void dropIfUnused(Graph graph, Value old) {
        if (!old.uses().isEmpty() || old.isGraphOutput() || old.isGraphInput()) {
            return;
        }
        if (old.isInitializer()) {
            graph.removeInitializer(old);
        } else if (old.producer() != null && old.producer().is("Constant")) {
            graph.removeNode(old.producer());
        }
    }
}
