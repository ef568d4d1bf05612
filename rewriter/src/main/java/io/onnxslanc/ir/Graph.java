package io.onnxslanc.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A graph: nodes in (topological) order, graph inputs and outputs, initializers. A subgraph
 * (If/Loop/Scan body) has a parent and may use values of the enclosing graphs.
 */
public final class Graph {
    private final Graph parent;
    private final UniqueNames names;
    private String name = "";
    private String docString = "";
    private byte[] preserved = new byte[0]; // GraphProto fields the IR does not model
    private final List<Node> nodes = new ArrayList<>();
    private final List<Value> inputs = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private final List<Value> initializers = new ArrayList<>();
    private final Map<String, Value> valuesByName = new HashMap<>();

    public Graph() {
        this(null, new UniqueNames());
    }

    private Graph(Graph parent, UniqueNames names) {
        this.parent = parent;
        this.names = names;
    }

    /** A new, empty subgraph whose nodes may refer to this graph's values. */
    public Graph newSubgraph() {
        return new Graph(this, names);
    }

    public Graph parent() {
        return parent;
    }

    public String name() {
        return name;
    }

    public void setName(String n) {
        this.name = n == null ? "" : n;
    }

    public String docString() {
        return docString;
    }

    public void setDocString(String s) {
        this.docString = s == null ? "" : s;
    }

    /** Read and written by {@link ProtoBytes} only: the io package's bridge. */
    byte[] preserved() {
        return preserved;
    }

    void setPreserved(byte[] p) {
        this.preserved = p;
    }

    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    public List<Value> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    public List<Value> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    public List<Value> initializers() {
        return Collections.unmodifiableList(initializers);
    }

    // ---- values -------------------------------------------------------------------------

    /** The value of this name visible from this graph (own scope first, then enclosing graphs). */
    public Value lookup(String valueName) {
        for (Graph g = this; g != null; g = g.parent) {
            Value v = g.valuesByName.get(valueName);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    /** A fresh name based on {@code base}, unique in the whole model. */
    public String uniqueName(String base) {
        return names.fresh(base);
    }

    public boolean isNameUsed(String n) {
        return names.isUsed(n);
    }

    /** A name derived from {@code base} that nobody uses yet, not reserved ({@link Value#rename} reserves it). */
    public String unusedName(String base) {
        return names.unused(base);
    }

    private Value newValue(String valueName) {
        if (!names.reserve(valueName)) {
            // the same name may legally be reused in a sibling subgraph scope, but never twice in one scope
            if (valuesByName.containsKey(valueName)) {
                throw new IllegalArgumentException("two values named '" + valueName + "' in one graph");
            }
        }
        Value v = new Value(this, valueName);
        valuesByName.put(valueName, v);
        return v;
    }

    void renameValue(Value v, String newName) {
        if (!names.reserve(newName)) {
            throw new IllegalArgumentException("name already used: " + newName);
        }
        valuesByName.remove(v.name());
        names.release(v.name());
        valuesByName.put(newName, v);
    }

    public Value addInput(String valueName, TensorType type) {
        Value v = newValue(valueName);
        v.setType(type);
        inputs.add(v);
        return v;
    }

    /** Declares an existing initializer as a graph input too (old-IR models list both). */
    public void addExistingAsInput(Value v) {
        inputs.add(v);
    }

    public Value addInitializer(String valueName, Tensor data) {
        Value v = newValue(valueName);
        v.initConstant(data);
        v.setType(TensorType.of(data.dataType(), data.dims()));
        initializers.add(v);
        return v;
    }

    /** Adds an initializer under a fresh name derived from {@code base}. */
    public Value addConstant(String base, Tensor data) {
        return addInitializer(uniqueName(base), data);
    }

    public void removeInitializer(Value v) {
        if (!v.uses().isEmpty() || v.isGraphOutput()) {
            throw new IllegalStateException("initializer " + v.name() + " is still used");
        }
        initializers.remove(v);
        inputs.remove(v);
        valuesByName.remove(v.name());
        names.release(v.name());
    }

    public void addOutput(Value v) {
        outputs.add(v);
    }

    public void setOutput(int index, Value v) {
        outputs.set(index, v);
    }

    void replaceOutput(Value old, Value replacement) {
        for (Graph g = this; g != null; g = g.parent) {
            for (int i = 0; i < g.outputs.size(); i++) {
                if (g.outputs.get(i) == old) {
                    g.outputs.set(i, replacement);
                }
            }
        }
    }

    // ---- nodes --------------------------------------------------------------------------

    /** Creates a node at the end of the graph with fresh outputs named after {@code outputNames}. */
    public Node addNode(String opType, String domain, String nodeName, List<Value> nodeInputs, List<String> outputNames) {
        return insertNode(nodes.size(), opType, domain, nodeName, nodeInputs, outputNames);
    }

    /** Creates a node just before {@code anchor}, which keeps topological order when it feeds the anchor. */
    public Node addNodeBefore(Node anchor, String opType, String domain, String nodeName, List<Value> nodeInputs,
                              List<String> outputNames) {
        int at = nodes.indexOf(anchor);
        if (at < 0) {
            throw new IllegalArgumentException(anchor + " is not in this graph");
        }
        return insertNode(at, opType, domain, nodeName, nodeInputs, outputNames);
    }

    private Node insertNode(int at, String opType, String domain, String nodeName, List<Value> nodeInputs,
                            List<String> outputNames) {
        Node n = new Node(this, opType, domain, nodeName == null ? "" : nodeName);
        for (Value v : nodeInputs) {
            n.addInput(v);
        }
        for (String o : outputNames) {
            n.addOutput(o.isEmpty() ? placeholder() : newValue(o));
        }
        nodes.add(at, n);
        return n;
    }

    /** An omitted optional output ("" in ONNX) still occupies its slot; it gets no registered name. */
    private Value placeholder() {
        return new Value(this, "");
    }

    /** Convenience for rewrites: one node, one output with a fresh name derived from {@code outputBase}. */
    public Node addNodeBefore(Node anchor, String opType, List<Value> nodeInputs, String outputBase) {
        String out = uniqueName(outputBase);
        return addNodeBefore(anchor, opType, "", uniqueName(outputBase + "_" + opType), nodeInputs, List.of(out));
    }

    /** Removes a node whose outputs nobody uses any more. */
    public void removeNode(Node n) {
        for (Value out : n.outputs()) {
            if (!out.uses().isEmpty() || out.isGraphOutput()) {
                throw new IllegalStateException("cannot remove " + n + ": output " + out.name() + " is still used");
            }
        }
        detach(n);
        nodes.remove(n);
    }

    /** Everything {@link #removeNode} does except taking {@code n} out of the node list. */
    private void detach(Node n) {
        n.detachInputs();
        for (Value out : n.outputs()) {
            if (!out.name().isEmpty()) {
                valuesByName.remove(out.name());
                names.release(out.name());
            }
        }
    }

    // ---- whole-graph passes -------------------------------------------------------------

    /** Every node of this graph and of its subgraphs, depth first. */
    public void forEachNodeRecursive(Consumer<Node> action) {
        for (Node n : new ArrayList<>(nodes)) {
            action.accept(n);
            for (Graph g : n.subgraphs()) {
                g.forEachNodeRecursive(action);
            }
        }
    }

    /** Values of this graph used inside the subgraphs of {@code n} (its implicit inputs). */
    private Set<Value> implicitInputs(Node n) {
        Set<Value> out = new LinkedHashSet<>();
        for (Graph sub : n.subgraphs()) {
            sub.forEachNodeRecursive(inner -> {
                for (Value v : inner.inputs()) {
                    if (v != null && v.graph() == this) {
                        out.add(v);
                    }
                }
            });
            for (Value v : sub.outputs) {
                if (v.graph() == this) {
                    out.add(v);
                }
            }
        }
        return out;
    }

    /**
     * Stable topological sort (Kahn's algorithm, ties broken by current position), O(N + E).
     * Throws {@link GraphCycleException} naming a node on a cycle.
     */
    public void toposort() {
        Map<Node, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            position.put(nodes.get(i), i);
        }
        Map<Node, Integer> pending = new IdentityHashMap<>();
        Map<Node, List<Node>> successors = new IdentityHashMap<>();
        for (Node n : nodes) {
            Set<Node> preds = Collections.newSetFromMap(new IdentityHashMap<>());
            List<Value> deps = new ArrayList<>(n.inputs());
            deps.addAll(implicitInputs(n));
            for (Value v : deps) {
                if (v != null && v.producer() != null && position.containsKey(v.producer())) {
                    preds.add(v.producer());
                }
            }
            pending.put(n, preds.size());
            for (Node p : preds) {
                successors.computeIfAbsent(p, k -> new ArrayList<>()).add(n);
            }
        }
        java.util.PriorityQueue<Node> ready = new java.util.PriorityQueue<>(
                java.util.Comparator.comparingInt(position::get));
        for (Node n : nodes) {
            if (pending.get(n) == 0) {
                ready.add(n);
            }
        }
        List<Node> order = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            Node n = ready.poll();
            order.add(n);
            for (Node s : successors.getOrDefault(n, List.of())) {
                if (pending.merge(s, -1, Integer::sum) == 0) {
                    ready.add(s);
                }
            }
        }
        if (order.size() != nodes.size()) {
            Node stuck = nodes.stream().filter(n -> pending.get(n) > 0).findFirst().orElseThrow();
            throw new GraphCycleException("graph '" + name + "' has a cycle through node '" + stuck.name()
                    + "' (" + stuck.opType() + ")");
        }
        nodes.clear();
        nodes.addAll(order);
        for (Node n : nodes) {
            for (Graph g : n.subgraphs()) {
                g.toposort();
            }
        }
    }

    /** Removes nodes and initializers that no graph output needs. Returns how many nodes were removed. */
    public int cleanup() {
        // a worklist, not repeated sweeps: removing a node can only make its producers dead, so each node is looked
        // at once plus once per removed consumer (a sweep per wave of removals, each shifting an ArrayList, was
        // quadratic on 100k-node graphs)
        Set<Node> here = Collections.newSetFromMap(new IdentityHashMap<>());
        here.addAll(nodes);
        Set<Node> gone = Collections.newSetFromMap(new IdentityHashMap<>());
        java.util.ArrayDeque<Node> work = new java.util.ArrayDeque<>();
        for (int i = 0; i < nodes.size(); i++) {
            work.push(nodes.get(i)); // popped last first: consumers before their producers, as the sweep went
        }
        while (!work.isEmpty()) {
            Node n = work.pop();
            if (gone.contains(n) || !n.outputs().stream().allMatch(o -> o.uses().isEmpty() && !o.isGraphOutput())) {
                continue;
            }
            List<Node> producers = new ArrayList<>();
            for (Value in : n.inputs()) {
                if (in != null && in.producer() != null && here.contains(in.producer())) {
                    producers.add(in.producer());
                }
            }
            detach(n);
            gone.add(n);
            for (Node p : producers) {
                if (!gone.contains(p)) {
                    work.push(p);
                }
            }
        }
        int removed = gone.size();
        if (removed > 0) {
            nodes.removeIf(gone::contains);
        }
        for (Value init : new ArrayList<>(initializers)) {
            if (init.uses().isEmpty() && !init.isGraphOutput() && !inputs.contains(init)) {
                removeInitializer(init);
            }
        }
        for (Node n : nodes) {
            for (Graph g : n.subgraphs()) {
                removed += g.cleanup();
            }
        }
        return removed;
    }

    /**
     * Checks the invariants rewrites must keep: nodes in topological order, every input defined
     * before use (or by an enclosing graph), use lists consistent with node inputs.
     */
    public void verify() {
        Set<Value> defined = Collections.newSetFromMap(new IdentityHashMap<>());
        defined.addAll(inputs);
        defined.addAll(initializers);
        verify(defined, new IdentityHashMap<>());
    }

    /**
     * Whether {@code v}'s use list has input {@code index} of {@code n}. A value with many uses (a shared scale
     * read by every block) gets a hash set, built once per verify: scanning its list per use was quadratic.
     */
    private static boolean hasUse(Value v, Node n, int index, Map<Value, Set<Value.Use>> bigUseLists) {
        List<Value.Use> uses = v.uses();
        if (uses.size() <= 8) {
            return uses.stream().anyMatch(u -> u.node() == n && u.index() == index);
        }
        return bigUseLists.computeIfAbsent(v, k -> new java.util.HashSet<>(k.uses())).contains(new Value.Use(n, index));
    }

    private void verify(Set<Value> outerDefined, Map<Value, Set<Value.Use>> bigUseLists) {
        Set<Value> defined = Collections.newSetFromMap(new IdentityHashMap<>());
        defined.addAll(outerDefined);
        defined.addAll(inputs);
        defined.addAll(initializers);
        for (Node n : nodes) {
            for (int i = 0; i < n.inputs().size(); i++) {
                Value v = n.input(i);
                if (v == null) {
                    continue;
                }
                if (!defined.contains(v)) {
                    throw new IllegalStateException("node " + n + " uses " + v.name() + " before it is defined");
                }
                if (!hasUse(v, n, i, bigUseLists)) {
                    throw new IllegalStateException("use list of " + v.name() + " misses " + n + " input " + i);
                }
            }
            for (Graph g : n.subgraphs()) {
                g.verify(defined, bigUseLists);
            }
            defined.addAll(n.outputs());
        }
        for (Value o : outputs) {
            if (!defined.contains(o)) {
                throw new IllegalStateException("graph output " + o.name() + " is not defined");
            }
        }
    }

    /** Count of nodes by op type (domain-qualified when not the default domain), sorted by name. */
    public Map<String, Integer> opTypeCounts() {
        Map<String, Integer> counts = new java.util.TreeMap<>();
        forEachNodeRecursive(n -> counts.merge(n.isDefaultDomain()
                ? n.opType() : n.domain() + ":" + n.opType(), 1, Integer::sum));
        return counts;
    }

    /** All initializers of this graph and its subgraphs. */
    public List<Value> initializersRecursive() {
        List<Value> out = new ArrayList<>(initializers);
        forEachNodeRecursive(n -> n.subgraphs().forEach(g -> out.addAll(g.initializers)));
        return out;
    }

    /** The first node of this name in this graph or its subgraphs (block lists and tests name nodes), else null. */
    public Node findNode(String nodeName) {
        Node[] found = new Node[1];
        forEachNodeRecursive(n -> {
            if (found[0] == null && n.name().equals(nodeName)) {
                found[0] = n;
            }
        });
        return found[0];
    }

}
