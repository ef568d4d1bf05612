package io.onnxslanc.match;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The nodes one match attempt has claimed so far (local to a single {@code match} call, so rules
 * stay stateless), and the checks made once the whole norm is known: no intermediate escapes, and
 * which uses of the input belong to the norm.
 */
final class Chain {
    private final Graph graph;
    private final List<Node> order = new ArrayList<>();
    private final Set<Node> members = Collections.newSetFromMap(new IdentityHashMap<>());

    Chain(Graph graph) {
        this.graph = graph;
    }

    void add(Node n) {
        if (members.add(n)) {
            order.add(n);
        }
    }

    boolean contains(Node n) {
        return members.contains(n);
    }

    /** Position to return to when an alternative fails. */
    int mark() {
        return order.size();
    }

    void resetTo(int mark) {
        while (order.size() > mark) {
            members.remove(order.remove(order.size() - 1));
        }
    }

    List<Node> nodes() {
        return List.copyOf(order);
    }

    /** Consumers of {@code v} in this graph with this op type (default domain), each once, in use order. */
    List<Node> consumers(Value v, String opType) {
        List<Node> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        for (Value.Use u : v.uses()) {
            Node n = u.node();
            if (n.graph() == graph && n.is(opType) && !members.contains(n) && !out.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    /** The one node using {@code v}, when v has exactly one use, in this graph, and is no graph output; else null. */
    Node soleConsumer(Value v) {
        if (v == null || v.uses().size() != 1 || v.isGraphOutput()) {
            return null;
        }
        Node n = v.uses().get(0).node();
        return n.graph() == graph && !members.contains(n) ? n : null;
    }

    /**
     * Values of the chain other than {@code output} that leave it. Empty when one of them is not in
     * {@code mayEscape} (the match must be rejected); otherwise those that escape, in chain order.
     */
    Optional<List<Value>> escapingValues(Value output, Set<Value> mayEscape) {
        List<Value> escaping = new ArrayList<>();
        for (Node n : order) {
            for (Value o : n.outputs()) {
                if (o == output || !leaves(o)) {
                    continue;
                }
                if (!mayEscape.contains(o)) {
                    return Optional.empty();
                }
                escaping.add(o);
            }
        }
        return Optional.of(escaping);
    }

    private boolean leaves(Value v) {
        if (v.isGraphOutput()) {
            return true;
        }
        for (Value.Use u : v.uses()) {
            if (!members.contains(u.node())) {
                return true;
            }
        }
        return false;
    }

    /** The uses of {@code v} by nodes of the chain. */
    List<Value.Use> usesInside(Value v) {
        List<Value.Use> out = new ArrayList<>();
        for (Value.Use u : v.uses()) {
            if (members.contains(u.node())) {
                out.add(u);
            }
        }
        return out;
    }
}
