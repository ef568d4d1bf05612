package io.onnxslanc.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An SSA value: produced by at most one node (or a graph input, or an initializer constant),
 * used by any number of node inputs. Uses are kept in step by {@link Node#setInput}, the only
 * way to change an edge, so use-def chains never go stale.
 */
public final class Value {
    /** One use of a value: input {@code index} of {@code node}. */
    public record Use(Node node, int index) {
    }

    private final Graph graph;
    private String name;
    private TensorType type;
    private byte[] opaqueType; // serialized TypeProto of a non-tensor value (sequence, map, optional)
    private Node producer;
    private Tensor constant;
    private String docString = "";
    private boolean inValueInfo;
    private final List<Use> uses = new ArrayList<>();

    Value(Graph graph, String name) {
        this.graph = graph;
        this.name = name;
    }

    public Graph graph() {
        return graph;
    }

    public String name() {
        return name;
    }

    public void rename(String newName) {
        graph.renameValue(this, newName);
        this.name = newName;
    }

    public TensorType type() {
        return type;
    }

    public void setType(TensorType type) {
        this.type = type;
    }

    public DataType elemType() {
        return type == null ? null : type.elemType();
    }

    /**
     * True for a value that is no tensor (a sequence, map or optional): the IR keeps its type as the original
     * serialized TypeProto, which only the io package reads and writes ({@link ProtoBytes}).
     */
    public boolean hasNonTensorType() {
        return opaqueType != null;
    }

    /** Read and written by {@link ProtoBytes} and {@link ElementTypes} only. */
    byte[] opaqueType() {
        return opaqueType;
    }

    void setOpaqueType(byte[] serializedTypeProto) {
        this.opaqueType = serializedTypeProto;
    }

    /** The node computing this value, or null for graph inputs, initializers and outer-scope values. */
    public Node producer() {
        return producer;
    }

    void setProducer(Node n) {
        this.producer = n;
    }

    /** The initializer data when this value is a graph initializer, else null. */
    public Tensor constant() {
        return constant;
    }

    public boolean isInitializer() {
        return constant != null;
    }

    /** Replaces the data of an initializer (e.g. with its FP16 version); the type follows the data. */
    public void setConstant(Tensor t) {
        if (constant == null) {
            throw new IllegalStateException(name + " is not an initializer");
        }
        this.constant = t;
        this.type = new TensorType(t.dataType(), TensorType.of(t.dataType(), t.dims()).shape());
    }

    void initConstant(Tensor t) {
        this.constant = t;
    }

    public List<Use> uses() {
        return Collections.unmodifiableList(uses);
    }

    void addUse(Node n, int index) {
        uses.add(new Use(n, index));
    }

    void removeUse(Node n, int index) {
        for (int i = 0; i < uses.size(); i++) {
            Use u = uses.get(i);
            if (u.node() == n && u.index() == index) {
                uses.remove(i);
                return;
            }
        }
        throw new IllegalStateException("use list of " + name + " lost track of " + n);
    }

    /** Nodes using this value, each once, in use order. */
    public List<Node> consumers() {
        List<Node> out = new ArrayList<>();
        for (Use u : uses) {
            if (!out.contains(u.node())) {
                out.add(u.node());
            }
        }
        return out;
    }

    public boolean isGraphOutput() {
        return graph.outputs().contains(this);
    }

    public boolean isGraphInput() {
        return graph.inputs().contains(this);
    }

    public String docString() {
        return docString;
    }

    public void setDocString(String s) {
        this.docString = s == null ? "" : s;
    }

    /** Whether the model listed this value in value_info (kept so a round trip keeps it). */
    public boolean inValueInfo() {
        return inValueInfo;
    }

    public void setInValueInfo(boolean b) {
        this.inValueInfo = b;
    }

    /** Points every use and graph-output slot of this value at {@code other} instead. */
    public void replaceAllUsesWith(Value other) {
        for (Use u : new ArrayList<>(uses)) {
            u.node().setInput(u.index(), other);
        }
        graph.replaceOutput(this, other);
    }

    @Override
    public String toString() {
        return name;
    }
}
