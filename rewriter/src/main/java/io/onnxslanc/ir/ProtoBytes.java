package io.onnxslanc.ir;

/**
 * The io package's bridge to what the IR keeps as original protobuf bytes: the fields of a ModelProto, GraphProto
 * or NodeProto the IR does not model (doc strings, training info, unknown fields), and the TypeProto of a value that
 * is no tensor (sequence, map, optional). {@code io.ModelReader} fills them and {@code io.ProtoEncoder} writes them
 * back unchanged; nothing else reads or edits them, so the IR's own API has no protobuf bytes.
 *
 * <p>Internal: public only because io is another package (Java has no friend access outside JPMS). The test
 * {@code ProtoBytesBridgeTest} fails when any other class of the library refers to it.
 */
public final class ProtoBytes {
    private ProtoBytes() {
    }

    /** The serialized ModelProto without graph, IR version and metadata. */
    public static byte[] preserved(Model model) {
        return model.preserved();
    }

    public static void setPreserved(Model model, byte[] bytes) {
        model.setPreserved(bytes);
    }

    /** The serialized GraphProto without what {@link Graph} models. */
    public static byte[] preserved(Graph graph) {
        return graph.preserved();
    }

    public static void setPreserved(Graph graph, byte[] bytes) {
        graph.setPreserved(bytes);
    }

    /** The serialized NodeProto without what {@link Node} models. */
    public static byte[] preserved(Node node) {
        return node.preserved();
    }

    public static void setPreserved(Node node, byte[] bytes) {
        node.setPreserved(bytes);
    }

    /** The serialized TypeProto of a value that is no tensor, else null ({@link Value#hasNonTensorType()}). */
    public static byte[] nonTensorType(Value value) {
        return value.opaqueType();
    }

    public static void setNonTensorType(Value value, byte[] serializedTypeProto) {
        value.setOpaqueType(serializedTypeProto);
    }
}
