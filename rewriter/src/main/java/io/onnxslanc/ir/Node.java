package io.onnxslanc.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** An operator application. Inputs may contain null for an omitted optional input. */
public final class Node {
    private final Graph graph;
    private String name;
    private String opType;
    private final String domain;
    private final String spelledDomain; // as the file wrote it ("ai.onnx" stays "ai.onnx" when written back)
    private final List<Value> inputs = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private final Map<String, Attribute> attributes = new LinkedHashMap<>();
    private byte[] preserved = new byte[0]; // NodeProto fields the IR does not model (doc_string, metadata, unknown)

    Node(Graph graph, String opType, String domain, String name) {
        this.graph = graph;
        this.opType = opType;
        this.spelledDomain = domain == null ? "" : domain;
        this.domain = Domains.normalise(domain);
        this.name = name;
    }

    public Graph graph() {
        return graph;
    }

    public String name() {
        return name;
    }

    public void setName(String n) {
        this.name = n;
    }

    public String opType() {
        return opType;
    }

    /** The operator domain, normalised: the default ONNX domain is always "" (see {@link Domains}). */
    public String domain() {
        return domain;
    }

    /** The domain as the model file spelled it, for writing the node back unchanged. */
    public String spelledDomain() {
        return spelledDomain;
    }

    /** True for an op of the default ONNX domain. */
    public boolean isDefaultDomain() {
        return domain.isEmpty();
    }

    /** True for an op of the default ONNX domain with this type. */
    public boolean is(String op) {
        return domain.isEmpty() && opType.equals(op);
    }

    /** True for an op of the default ONNX domain whose type is one of {@code ops}. */
    public boolean isOneOf(java.util.Set<String> ops) {
        return domain.isEmpty() && ops.contains(opType);
    }

    public boolean is(String dom, String op) {
        return opType.equals(op) && domain.equals(Domains.normalise(dom));
    }

    public List<Value> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    public Value input(int i) {
        return i < inputs.size() ? inputs.get(i) : null;
    }

    public List<Value> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    public Value output(int i) {
        return i < outputs.size() ? outputs.get(i) : null;
    }

    /** The one way to change an edge: keeps the use lists of the old and new value in step. */
    public void setInput(int index, Value v) {
        while (inputs.size() <= index) {
            inputs.add(null);
        }
        Value old = inputs.get(index);
        if (old != null) {
            old.removeUse(this, index);
        }
        inputs.set(index, v);
        if (v != null) {
            v.addUse(this, index);
        }
    }

    public void addInput(Value v) {
        setInput(inputs.size(), v);
    }

    /** Drops this node's uses of its inputs (before the node is removed). */
    void detachInputs() {
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i) != null) {
                inputs.get(i).removeUse(this, i);
            }
        }
        inputs.clear();
    }

    void addOutput(Value v) {
        outputs.add(v);
        v.setProducer(this);
    }

    public Map<String, Attribute> attributes() {
        return Collections.unmodifiableMap(attributes);
    }

    public Optional<Attribute> attribute(String n) {
        return Optional.ofNullable(attributes.get(n));
    }

    public void setAttribute(Attribute a) {
        attributes.put(a.name(), a);
    }

    public void removeAttribute(String n) {
        attributes.remove(n);
    }

    public long intAttr(String n, long dflt) {
        Attribute a = attributes.get(n);
        return a == null ? dflt : a.intValue();
    }

    public float floatAttr(String n, float dflt) {
        Attribute a = attributes.get(n);
        return a == null ? dflt : a.floatValue();
    }

    /** Subgraphs of If/Loop/Scan (and any other graph attribute). */
    public List<Graph> subgraphs() {
        List<Graph> out = new ArrayList<>();
        for (Attribute a : attributes.values()) {
            out.addAll(a.graphs());
        }
        return out;
    }

    /** Read and written by {@link ProtoBytes} only: the io package's bridge. */
    byte[] preserved() {
        return preserved;
    }

    void setPreserved(byte[] p) {
        this.preserved = p;
    }

    /** Producers of this node's inputs inside the same graph (skipping constants and inputs). */
    public List<Node> producers() {
        List<Node> out = new ArrayList<>();
        for (Value v : inputs) {
            if (v != null && v.producer() != null && !out.contains(v.producer())) {
                out.add(v.producer());
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return opType + "(" + name + ")";
    }
}
