package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.OrtTensorType;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The element type of every value the emulation may round, in every scope. Main-graph values take ONNX Runtime's own
 * inference (exact, contrib ops included); ORT reports nothing inside If/Loop/Scan bodies, so body values take their
 * declared type or follow their op (Cast's target, Shape's INT64, a comparison's BOOL, else the first input's type).
 * Unknown stays null, which the emulation reads as "not float32" and leaves alone: a round trip on an integer or
 * bool tensor would make the model invalid.
 * <p>
 * Once the rewriter's IR infers element types itself, that inference replaces the op rules here.
 */
final class EmulationTypes {
    private static final Set<String> INT64_OUT = Set.of("Shape", "Size", "NonZero", "ArgMax", "ArgMin");
    private static final Set<String> BOOL_OUT = Set.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
            "Not", "And", "Or", "Xor", "IsNaN", "IsInf");
    private static final Set<String> QUANTIZING = Set.of("QuantizeLinear", "DynamicQuantizeLinear");
    /** Ops whose every output has the type of the first input (other multi-output ops type only their first). */
    private static final Set<String> ALL_OUTPUTS_LIKE_INPUT = Set.of("Split");

    private final Map<Value, DataType> types = new IdentityHashMap<>();
    private final Map<String, OrtTensorType> ortMain;
    private final Graph main;

    private EmulationTypes(Graph main, Map<String, OrtTensorType> ortMain) {
        this.main = main;
        this.ortMain = ortMain;
    }

    /** {@code ortMain}: ORT's inferred types of the main graph's values by name (OrtTypeInference). */
    static EmulationTypes infer(Graph main, Map<String, OrtTensorType> ortMain) {
        EmulationTypes t = new EmulationTypes(main, ortMain);
        t.graph(main);
        return t;
    }

    DataType of(Value v) {
        if (v == null) return null;
        DataType t = types.get(v);
        return t != null ? t : declaredOrOrt(v);
    }

    boolean isFloat(Value v) {
        return of(v) == DataType.FLOAT;
    }

    /** A value added after inference (an emulation's own node output) gets its type here. */
    void set(Value v, DataType t) {
        types.put(v, t);
    }

    private void graph(Graph g) {
        for (Value v : g.inputs()) remember(v, declaredOrOrt(v));
        for (Value v : g.initializers()) remember(v, v.constant().dataType());
        for (Node n : g.nodes()) {
            for (Graph body : n.subgraphs()) graph(body);
            for (int i = 0; i < n.outputs().size(); i++) {
                Value o = n.output(i);
                if (o.name().isEmpty()) continue;
                DataType known = declaredOrOrt(o);
                remember(o, known != null ? known : byOp(n, i));
            }
        }
    }

    private void remember(Value v, DataType t) {
        if (t != null) types.put(v, t);
    }

    private DataType declaredOrOrt(Value v) {
        if (v.graph() == main) {
            OrtTensorType t = ortMain.get(v.name());
            if (t != null && DataType.isKnownCode(t.elemType())) return DataType.fromCode(t.elemType());
        }
        if (v.isInitializer()) return v.constant().dataType();
        return v.type() != null && v.type().elemType() != DataType.UNDEFINED ? v.type().elemType() : null;
    }

    private DataType byOp(Node n, int output) {
        if (!n.isDefaultDomain() && output > 0) return null;
        if (n.is("Cast")) return DataType.fromCode((int) n.intAttr("to", 0));
        if (n.is("Constant")) return constantType(n);
        if (n.is("ConstantOfShape"))
            return n.attribute("value").map(a -> a.tensorValue().dataType()).orElse(DataType.FLOAT);
        if (n.isOneOf(INT64_OUT)) return output == 0 ? DataType.INT64 : null;
        if (n.isOneOf(BOOL_OUT)) return output == 0 ? DataType.BOOL : null;
        if (n.is("Where")) return output == 0 && n.inputs().size() > 1 ? of(n.input(1)) : null;
        if (n.is("If")) return ifOutput(n, output);
        if (n.is("Loop")) return bodyOutput(n, output + 1); // the body's outputs start with the loop condition
        if (n.is("Scan")) return bodyOutput(n, output);
        if (n.is("CastLike")) return output == 0 && n.inputs().size() > 1 ? of(n.input(1)) : null;
        if (n.is("DequantizeLinear")) return output == 0 && n.inputs().size() > 1 ? of(n.input(1)) : null; // the scale's type
        if (n.isOneOf(QUANTIZING)) return null; // integer outputs from float inputs: never round them
        if (output > 0 && !n.isOneOf(ALL_OUTPUTS_LIKE_INPUT)) return null;
        for (Value in : n.inputs()) {
            DataType t = of(in);
            if (t != null) return t;
        }
        return null;
    }

    private DataType bodyOutput(Node n, int bodyOutput) {
        for (Graph body : n.subgraphs())
            if (body.outputs().size() > bodyOutput) return of(body.outputs().get(bodyOutput));
        return null;
    }

    private DataType ifOutput(Node n, int output) {
        for (Graph branch : n.subgraphs())
            if (branch.outputs().size() > output) {
                DataType t = of(branch.outputs().get(output));
                if (t != null) return t;
            }
        return null;
    }

    private static DataType constantType(Node n) {
        for (Attribute a : n.attributes().values()) {
            switch (a.name()) {
                case "value": return a.tensorValue().dataType();
                case "value_float", "value_floats": return DataType.FLOAT;
                case "value_int", "value_ints": return DataType.INT64;
                default: break;
            }
        }
        return null;
    }
}
