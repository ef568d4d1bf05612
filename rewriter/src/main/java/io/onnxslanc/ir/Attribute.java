package io.onnxslanc.ir;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A node attribute. {@code value} holds Float, Long, byte[] (STRING), Tensor, Graph, float[],
 * long[], List&lt;byte[]&gt;, List&lt;Tensor&gt; or List&lt;Graph&gt; according to {@code kind};
 * kinds this tool does not interpret (sparse tensors, type protos) are carried as the
 * serialized AttributeProto in {@code OPAQUE}.
 */
public record Attribute(String name, Kind kind, Object value, String docString, String refAttrName) {

    public enum Kind { FLOAT, INT, STRING, TENSOR, GRAPH, FLOATS, INTS, STRINGS, TENSORS, GRAPHS, OPAQUE }

    public static Attribute ofFloat(String name, float f) {
        return new Attribute(name, Kind.FLOAT, f, "", "");
    }

    public static Attribute ofInt(String name, long i) {
        return new Attribute(name, Kind.INT, i, "", "");
    }

    public static Attribute ofInts(String name, long... v) {
        return new Attribute(name, Kind.INTS, v.clone(), "", "");
    }

    public static Attribute ofString(String name, String s) {
        return new Attribute(name, Kind.STRING, s.getBytes(StandardCharsets.UTF_8), "", "");
    }

    public static Attribute ofTensor(String name, Tensor t) {
        return new Attribute(name, Kind.TENSOR, t, "", "");
    }

    public Attribute withValue(Object v) {
        return new Attribute(name, kind, v, docString, refAttrName);
    }

    public float floatValue() {
        return (Float) value;
    }

    public long intValue() {
        return (Long) value;
    }

    public long[] intsValue() {
        return (long[]) value;
    }

    public String stringValue() {
        return new String((byte[]) value, StandardCharsets.UTF_8);
    }

    public Tensor tensorValue() {
        return (Tensor) value;
    }

    /** Subgraphs held by this attribute (GRAPH or GRAPHS), empty otherwise. */
    @SuppressWarnings("unchecked")
    public List<Graph> graphs() {
        return switch (kind) {
            case GRAPH -> List.of((Graph) value);
            case GRAPHS -> (List<Graph>) value;
            default -> List.of();
        };
    }
}
