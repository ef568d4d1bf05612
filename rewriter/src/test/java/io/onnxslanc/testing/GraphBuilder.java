package io.onnxslanc.testing;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * Builds small test graphs through the IR API. Float constants and inputs get the builder's float
 * type (FLOAT or FLOAT16), so one test body builds both the FP32 and the FP16 variant.
 */
public final class GraphBuilder {
    private final Graph graph;
    private final DataType floatType;
    private int counter;

    public GraphBuilder(DataType floatType) {
        this(new Graph(), floatType);
    }

    public GraphBuilder(Graph graph, DataType floatType) {
        this.graph = graph;
        this.floatType = floatType;
    }

    public Graph graph() {
        return graph;
    }

    public DataType floatType() {
        return floatType;
    }

    /** A graph input of the float type; a negative dimension is symbolic ("batch"), no dims at all means unknown rank. */
    public Value input(String name, long... dims) {
        return graph.addInput(name, dims.length == 0 ? new TensorType(floatType, null) : shape(floatType, dims));
    }

    public Value input(String name, DataType type, long... dims) {
        return graph.addInput(name, shape(type, dims));
    }

    private static TensorType shape(DataType type, long... dims) {
        return new TensorType(type, Arrays.stream(dims)
                .mapToObj(d -> d < 0 ? TensorType.Dim.named("batch") : TensorType.Dim.of(d)).toList());
    }

    /** A 1-D initializer of the float type. */
    public Value init(String name, double... values) {
        return graph.addInitializer(name, floats(floatType, new long[] {values.length}, values));
    }

    /** A 0-D initializer of the float type. */
    public Value scalarInit(String name, double value) {
        return graph.addInitializer(name, floats(floatType, new long[0], value));
    }

    /** A Constant node holding a 0-D tensor of the float type in its "value" attribute. */
    public Value constant(double value) {
        return constant(value, floatType);
    }

    /** A Constant node holding a 0-D tensor of {@code type} (e.g. FLOAT constants inside a Cast-wrapped norm of an FP16 graph). */
    public Value constant(double value, DataType type) {
        Node c = graph.addNode("Constant", "", fresh("Constant"), List.of(), List.of(fresh("const")));
        c.setAttribute(Attribute.ofTensor("value", floats(type, new long[0], value)));
        return c.output(0);
    }

    /** A Constant node with a value_float attribute. */
    public Value constantValueFloat(float value) {
        Node c = graph.addNode("Constant", "", fresh("Constant"), List.of(), List.of(fresh("const")));
        c.setAttribute(Attribute.ofFloat("value_float", value));
        return c.output(0);
    }

    /** A 1-D INT64 initializer (axes, shapes). */
    public Value longsInit(String name, long... values) {
        return graph.addInitializer(name, ArrayTensor.ofLongs(new long[] {values.length}, values));
    }

    /** A Constant node holding a 1-D INT64 tensor. */
    public Value longsConstant(long... values) {
        Node c = graph.addNode("Constant", "", fresh("Constant"), List.of(), List.of(fresh("const")));
        c.setAttribute(Attribute.ofTensor("value", ArrayTensor.ofLongs(new long[] {values.length}, values)));
        return c.output(0);
    }

    /** A node of the default domain with one output. */
    public Node node(String opType, Value... inputs) {
        return nodeIn("", opType, 1, inputs);
    }

    public Node nodeIn(String domain, String opType, int outputs, Value... inputs) {
        String[] outs = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            outs[i] = fresh(opType + "_out");
        }
        return graph.addNode(opType, domain, fresh(opType), Arrays.asList(inputs), List.of(outs));
    }

    /** Output 0 of a new default-domain node. */
    public Value op(String opType, Value... inputs) {
        return node(opType, inputs).output(0);
    }

    public Value op(String opType, List<Attribute> attributes, Value... inputs) {
        Node n = node(opType, inputs);
        attributes.forEach(n::setAttribute);
        return n.output(0);
    }

    /** Cast to {@code to}. */
    public Value cast(Value v, DataType to) {
        return op("Cast", List.of(Attribute.ofInt("to", to.code())), v);
    }

    /** ReduceMean over the given axes as an attribute (opset &lt; 18), keepdims=1. */
    public Value reduceMeanAttr(Value v, long... axes) {
        return op("ReduceMean", List.of(Attribute.ofInts("axes", axes), Attribute.ofInt("keepdims", 1)), v);
    }

    public void output(Value v) {
        graph.addOutput(v);
    }

    private String fresh(String base) {
        return base + "_" + (counter++);
    }

    /** Float data encoded as FLOAT, FLOAT16 or DOUBLE. */
    public static Tensor floats(DataType type, long[] dims, double... values) {
        ByteBuffer b = ByteBuffer.allocate((int) type.byteSize(values.length)).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            switch (type) {
                case FLOAT -> b.putFloat((float) v);
                case DOUBLE -> b.putDouble(v);
                case FLOAT16 -> b.putShort(toHalf((float) v));
                default -> throw new IllegalArgumentException("not a float type: " + type);
            }
        }
        b.flip();
        return new ArrayTensor(type, dims, b);
    }

    /** float -> IEEE half, round to nearest even; enough for test constants (normal and subnormal range). */
    static short toHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        float abs = Math.abs(f);
        if (Float.isNaN(f)) {
            return (short) (sign | 0x7e00);
        }
        if (abs >= 65520f) {
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x1p-14f) { // subnormal half: multiples of 2^-24
            return (short) (sign | Math.round(abs * 0x1p24f));
        }
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = bits & 0x7fffff;
        int half = (exp << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) (sign | half);
    }
}
