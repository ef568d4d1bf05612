package io.onnxslanc.samples.llama;

import io.onnxslanc.ir.UniqueNames;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Small helper for writing ONNX graphs by hand: nodes named the way PyTorch's exporter names them
 * ("/layers.0/attention/MatMul_1", outputs "..._output_0"), Constant nodes, initializers.
 */
final class GraphBuilder {

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final InitializerStore store;
    private final Deque<String> scopes = new ArrayDeque<>();
    private final UniqueNames used = new UniqueNames();

    GraphBuilder(String name, InitializerStore store) {
        this.store = store;
        graph.setName(name);
    }

    void enter(String scope) {
        scopes.addLast(scope);
    }

    void exit() {
        scopes.removeLast();
    }

    static String[] in(String... names) {
        return names;
    }

    /** One-output node in the default domain; returns the output's name. */
    String op(String type, String[] inputs, AttributeProto... attrs) {
        return opN(type, "", 1, inputs, attrs)[0];
    }

    /** Node with n generated output names. */
    String[] opN(String type, String domain, int outputs, String[] inputs, AttributeProto... attrs) {
        boolean[] all = new boolean[outputs];
        Arrays.fill(all, true);
        return opN(type, domain, outputs, inputs, all, attrs);
    }

    /** Node with n outputs of which only those marked used get a name (the others are ""). */
    String[] opN(String type, String domain, int outputs, String[] inputs, boolean[] used, AttributeProto... attrs) {
        String name = uniqueName(type);
        String[] outs = new String[outputs];
        for (int i = 0; i < outputs; i++) outs[i] = used[i] ? name + "_output_" + i : "";
        addNode(name, type, domain, inputs, outs, attrs);
        return outs;
    }

    /** Node with caller-chosen output names ("" for an unused optional output). */
    void opNamed(String type, String domain, String[] inputs, String[] outputs, AttributeProto... attrs) {
        addNode(uniqueName(type), type, domain, inputs, outputs, attrs);
    }

    private void addNode(String name, String type, String domain, String[] inputs, String[] outputs, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setName(name).setOpType(type);
        if (!domain.isEmpty()) n.setDomain(domain);
        for (String i : inputs) n.addInput(i);
        for (String o : outputs) n.addOutput(o);
        for (AttributeProto a : attrs) n.addAttribute(a);
        graph.addNode(n);
    }

    private String uniqueName(String type) {
        String base = (scopes.isEmpty() ? "" : "/" + String.join("/", scopes)) + "/" + type;
        return used.fresh(base);
    }

    /** A Constant node holding a float scalar. */
    String constantFloat(float value) {
        TensorProto t = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addFloatData(value).build();
        return op("Constant", in(), tensorAttr("value", t));
    }

    /** A Constant node holding a 1-D int64 tensor. */
    String constantInts(long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE).addDims(values.length);
        for (long v : values) t.addInt64Data(v);
        return op("Constant", in(), tensorAttr("value", t.build()));
    }

    /** A Constant node holding an int64 scalar. */
    String constantInt(long value) {
        TensorProto t = TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE).addInt64Data(value).build();
        return op("Constant", in(), tensorAttr("value", t));
    }

    /** Adds an initializer through the store (inline or external) and returns its name. */
    String initializer(String name, TensorValues values) throws IOException {
        graph.addInitializer(store.add(name, values));
        return name;
    }

    /** dims: Long for a fixed size, String for a symbolic one. */
    void input(String name, int elemType, Object... dims) {
        graph.addInput(valueInfo(name, elemType, dims));
    }

    void output(String name, int elemType, Object... dims) {
        graph.addOutput(valueInfo(name, elemType, dims));
    }

    GraphProto build() {
        return graph.build();
    }

    static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String s) dim.setDimParam(s);
            else dim.setDimValue(((Number) d).longValue());
            shape.addDim(dim);
        }
        TypeProto type = TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }

    static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    static AttributeProto intsAttr(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }

    static AttributeProto floatAttr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    static AttributeProto tensorAttr(String name, TensorProto t) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.TENSOR).setT(t).build();
    }
}
