package io.onnxslanc.check.probe;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;

/**
 * Names for the graphs of a model: "" for the main graph, "NODE.ATTRIBUTE" for a body (e.g. "optimum::if.then_branch"
 * for the then-branch of a merged decoder's If), joined by "/" when bodies nest. Node names are what tells sibling
 * scopes apart; tensor names may repeat across them.
 */
final class Scopes {
    private Scopes() {}

    static String of(Graph g) {
        if (g.parent() == null) return "";
        for (Node n : g.parent().nodes())
            for (Attribute a : n.attributes().values())
                if (a.graphs().contains(g)) {
                    String outer = of(g.parent());
                    return (outer.isEmpty() ? "" : outer + "/") + n.name() + "." + a.name();
                }
        throw new IllegalStateException("subgraph '" + g.name() + "' has no owner in its parent graph");
    }

    /** The graph of this scope name, or null. */
    static Graph find(Model model, String scope) {
        return scope.isEmpty() ? model.graph() : find(model.graph(), scope);
    }

    private static Graph find(Graph g, String scope) {
        for (Node n : g.nodes())
            for (Attribute a : n.attributes().values())
                for (Graph body : a.graphs()) {
                    String here = of(body);
                    if (here.equals(scope)) return body;
                    if (scope.startsWith(here + "/")) return find(body, scope);
                }
        return null;
    }
}
