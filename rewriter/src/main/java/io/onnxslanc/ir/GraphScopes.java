package io.onnxslanc.ir;

import java.util.List;

/**
 * Where a subgraph (If branch, Loop / Scan body) sits in the model: the node owning it and the attribute holding it.
 * A body reads outer values by name; the IR hands it the outer {@link Value} itself, so a walk back from a body value
 * simply continues into the enclosing graph.
 */
public final class GraphScopes {
    private GraphScopes() {
    }

    /** The node of the enclosing graph whose attribute holds {@code g}; null for the main graph. */
    public static Node owner(Graph g) {
        Graph parent = g.parent();
        if (parent == null) {
            return null;
        }
        for (Node n : parent.nodes()) {
            for (Graph sub : n.subgraphs()) {
                if (sub == g) {
                    return n;
                }
            }
        }
        throw new IllegalStateException("subgraph '" + g.name() + "' is held by no node of its parent graph");
    }

    /**
     * How reports name a subgraph: the owner's op, its name (or its position when it has none) and the attribute,
     * e.g. {@code If 'optimum::if' then_branch}; nested bodies are joined outermost first with " / ". Null for the
     * main graph.
     */
    public static String describe(Graph g) {
        Node owner = owner(g);
        if (owner == null) {
            return null;
        }
        String self = owner.opType() + " " + (owner.name().isEmpty()
                ? "#" + owner.graph().nodes().indexOf(owner) : "'" + owner.name() + "'") + " " + attributeOf(owner, g);
        String outer = describe(owner.graph());
        return outer == null ? self : outer + " / " + self;
    }

    /** The subgraph of {@code main} (at any depth) that {@link #describe} names {@code description}; null if none. */
    public static Graph find(Graph main, String description) {
        for (Node n : main.nodes()) {
            for (Graph body : n.subgraphs()) {
                String here = describe(body);
                if (here.equals(description)) {
                    return body;
                }
                if (description.startsWith(here + " / ")) {
                    Graph inner = find(body, description);
                    if (inner != null) {
                        return inner;
                    }
                }
            }
        }
        return null;
    }

    private static String attributeOf(Node owner, Graph g) {
        for (Attribute a : owner.attributes().values()) {
            List<Graph> graphs = a.graphs();
            int at = graphs.indexOf(g);
            if (at >= 0) {
                return graphs.size() == 1 ? a.name() : a.name() + "[" + at + "]";
            }
        }
        throw new IllegalStateException("no attribute of " + owner + " holds subgraph '" + g.name() + "'");
    }

    /**
     * True for an input of a Loop or Scan body: a loop-carried or scanned value, which another iteration (or the outer
     * graph's sequence) produces. If branches have no inputs.
     */
    public static boolean isBodyInput(Value v) {
        return v != null && v.producer() == null && v.graph().parent() != null && v.isGraphInput();
    }
}
