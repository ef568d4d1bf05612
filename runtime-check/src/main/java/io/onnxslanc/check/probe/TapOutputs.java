package io.onnxslanc.check.probe;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Makes tensors readable after a run by exposing them as main-graph outputs. A tensor inside an If branch becomes an
 * extra output of that branch and of the If (and so on up to the main graph); the If's other branches return an
 * empty float tensor in that slot, so a run that takes another branch yields no rows for it. Loop and Scan bodies
 * run many times and stack or discard their outputs, so their tensors are not exposed.
 */
final class TapOutputs {
    private TapOutputs() {}

    /** Every value of this name in any scope of the model (sibling branches may reuse a name). */
    static List<Value> named(Model model, String name) {
        List<Value> found = new ArrayList<>();
        collect(model.graph(), name, found);
        return found;
    }

    private static void collect(Graph g, String name, List<Value> into) {
        for (Value v : g.inputs()) if (v.name().equals(name)) into.add(v);
        for (Value v : g.initializers()) if (v.name().equals(name) && !into.contains(v)) into.add(v);
        for (Node n : g.nodes()) {
            for (Value o : n.outputs()) if (o.name().equals(name)) into.add(o);
            for (Graph body : n.subgraphs()) collect(body, name, into);
        }
    }

    /** Exposes v (a node output) as a main-graph output and returns that output's name. */
    static String expose(Model model, Value v) {
        Graph g = v.graph();
        while (g != model.graph()) {
            Node owner = owner(g);
            if (!owner.is("If"))
                throw new IllegalArgumentException("tensor '" + v.name() + "' is inside the body of " + owner.opType() + " '" + owner.name()
                        + "', which runs it many times; the probe reads tensors of the main graph and of If branches only");
            int slot = g.outputs().size();
            g.addOutput(v);
            for (Graph other : owner.subgraphs()) if (other != g) other.addOutput(emptyFloats(other));
            v = withExtraOutput(owner, v.name()).output(slot);
            g = v.graph();
        }
        if (!v.isGraphOutput()) g.addOutput(v);
        return v.name();
    }

    /** The node whose attribute holds body. */
    private static Node owner(Graph body) {
        for (Node n : body.parent().nodes()) if (n.subgraphs().contains(body)) return n;
        throw new IllegalStateException("subgraph '" + body.name() + "' has no owner in its parent graph");
    }

    private static Value emptyFloats(Graph g) {
        Node c = g.addNode("Constant", "", g.uniqueName("probe_no_rows"), List.of(), List.of(g.unusedName("probe_no_rows")));
        c.setAttribute(Attribute.ofTensor("value", ArrayTensor.ofFloats(new long[]{0})));
        return c.output(0);
    }

    /** The same node with one more output (the IR adds outputs only to new nodes): rebuilt, rewired, renamed. */
    private static Node withExtraOutput(Node n, String base) {
        Graph g = n.graph();
        List<String> outs = new ArrayList<>();
        for (Value o : n.outputs()) outs.add(o.name().isEmpty() ? "" : g.unusedName(o.name()));
        outs.add(g.unusedName(base));
        Node copy = g.addNodeBefore(n, n.opType(), n.domain(), n.name(), n.inputs(), outs);
        for (Attribute a : n.attributes().values()) copy.setAttribute(a);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n.outputs().size(); i++) {
            Value old = n.output(i);
            names.add(old.name());
            if (!old.name().isEmpty()) old.replaceAllUsesWith(copy.output(i));
        }
        for (String a : new ArrayList<>(n.attributes().keySet())) n.removeAttribute(a); // the bodies now belong to the copy
        g.removeNode(n);
        for (int i = 0; i < names.size(); i++) if (!names.get(i).isEmpty()) copy.output(i).rename(names.get(i));
        return copy;
    }
}
