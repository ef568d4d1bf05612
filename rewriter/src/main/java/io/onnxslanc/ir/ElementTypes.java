package io.onnxslanc.ir;

import com.google.protobuf.InvalidProtocolBufferException;
import io.onnxslanc.proto.Onnx.TypeProto;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The element type of every tensor value of a graph and its subgraphs, whether declared (graph inputs, outputs,
 * value_info, initializers) or not: exporters leave most intermediate values untyped, and the rewrite must give a
 * new constant its input's type while the converter must know which values carry float32 to cast at the right
 * edges. Inferred once per graph, in node order; undeclared types follow the op definitions (an op not listed
 * keeps its first input's type); unknown ones are null. The one owner of element-type inference.
 */
public final class ElementTypes {
    private final Map<Value, DataType> types = new IdentityHashMap<>();

    private ElementTypes() {
    }

    /** Infers the types of {@code main} and every subgraph in it. */
    public static ElementTypes infer(Graph main) {
        ElementTypes t = new ElementTypes();
        t.inferGraph(main);
        return t;
    }

    /** The element type of {@code v}, or null when neither a declaration nor the op definitions tell it. */
    public DataType of(Value v) {
        return v == null ? null : types.get(v);
    }

    public boolean isFloat32(Value v) {
        return of(v) == DataType.FLOAT;
    }

    /** Whether some value has type {@code t}. */
    public boolean any(DataType t) {
        return types.containsValue(t);
    }

    /** Records the type of a value created after inference (inserted casts, copies). */
    public void set(Value v, DataType t) {
        types.put(v, t);
    }

    private void inferGraph(Graph g) {
        for (Value v : g.inputs()) {
            declared(v);
        }
        for (Value v : g.initializers()) {
            types.put(v, v.constant().dataType());
        }
        for (Node n : g.nodes()) {
            inferSubgraphInputs(n);
            for (Graph sub : n.subgraphs()) {
                inferGraph(sub);
            }
            for (int i = 0; i < n.outputs().size(); i++) {
                Value out = n.output(i);
                if (out.name().isEmpty()) {
                    continue;
                }
                DataType d = declaredType(out);
                if (d == null && !out.hasNonTensorType()) {
                    d = outputType(n, i);
                }
                if (d != null) {
                    types.put(out, d);
                }
            }
        }
    }

    private void declared(Value v) {
        DataType d = declaredType(v);
        if (d != null) {
            types.put(v, d);
        }
    }

    private static DataType declaredType(Value v) {
        if (v.hasNonTensorType() || v.type() == null || v.elemType() == DataType.UNDEFINED) {
            return null;
        }
        return v.elemType();
    }

    /** Untyped formal inputs of Loop and Scan bodies take the types of the node's own inputs. */
    private void inferSubgraphInputs(Node n) {
        if (!n.isDefaultDomain()) {
            return;
        }
        for (Graph sub : n.subgraphs()) {
            List<Value> formal = sub.inputs();
            for (int i = 0; i < formal.size(); i++) {
                Value v = formal.get(i);
                if (declaredType(v) != null) {
                    types.put(v, v.elemType());
                    continue;
                }
                DataType d = switch (n.opType()) {
                    case "Loop" -> i == 0 ? DataType.INT64 : i == 1 ? DataType.BOOL : of(n.input(i));
                    case "Scan" -> of(n.input(i));
                    default -> null;
                };
                if (d != null) {
                    types.put(v, d);
                }
            }
        }
    }

    private DataType outputType(Node n, int index) {
        if (n.domain().equals(Domains.MICROSOFT) || n.isDefaultDomain()) {
            DataType d = knownOpOutput(n, index);
            if (d != null) {
                return d;
            }
        }
        return firstInputType(n);
    }

    private DataType knownOpOutput(Node n, int index) {
        return switch (n.opType()) {
            case "Cast" -> code(n, "to", DataType.UNDEFINED);
            case "CastLike" -> of(n.input(1));
            case "Constant" -> constantType(n);
            case "ConstantOfShape" -> n.attribute("value").filter(a -> a.kind() == Attribute.Kind.TENSOR)
                    .map(a -> a.tensorValue().dataType()).orElse(DataType.FLOAT);
            case "Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression" -> DataType.INT64;
            case "TopK" -> index == 0 ? firstInputType(n) : DataType.INT64;
            case "Unique" -> index == 0 ? firstInputType(n) : DataType.INT64;
            case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not",
                    "IsNaN", "IsInf" -> DataType.BOOL;
            case "RandomNormal", "RandomUniform" -> code(n, "dtype", DataType.FLOAT);
            case "RandomNormalLike", "RandomUniformLike", "EyeLike", "Bernoulli" -> code(n, "dtype", firstInputType(n));
            case "HannWindow", "HammingWindow", "BlackmanWindow", "MelWeightMatrix" ->
                    code(n, "output_datatype", DataType.FLOAT);
            case "Multinomial" -> code(n, "dtype", DataType.INT32);
            case "DynamicQuantizeLinear" -> index == 1 ? DataType.FLOAT : DataType.UINT8;
            case "QuantizeLinear" -> n.input(2) != null ? of(n.input(2)) : code(n, "output_dtype", DataType.UINT8);
            case "DequantizeLinear" -> code(n, "output_dtype", of(n.input(1)));
            case "MatMulInteger", "ConvInteger" -> DataType.INT32;
            case "QLinearMatMul", "QLinearConv" -> of(n.input(7));
            case "MatMulIntegerToFloat" -> of(n.input(2));
            case "TfIdfVectorizer" -> DataType.FLOAT;
            case "Where" -> of(n.input(1));
            case "OneHot" -> of(n.input(2));
            case "SequenceAt", "ConcatFromSequence" -> sequenceElementType(n.input(0), 0);
            case "If" -> subgraphOutput(n, "then_branch", index);
            case "Loop" -> subgraphOutput(n, "body", index + 1);
            case "Scan" -> subgraphOutput(n, "body", index);
            case "LayerNormalization", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization" ->
                    index == 1 || index == 2 ? DataType.FLOAT : firstInputType(n);
            case "SimplifiedLayerNormalization" -> index == 1 ? DataType.FLOAT
                    : n.input(1) != null ? of(n.input(1)) : firstInputType(n);
            default -> null;
        };
    }

    private static DataType code(Node n, String attr, DataType dflt) {
        return n.attribute(attr).map(a -> DataType.isKnownCode((int) a.intValue())
                ? DataType.fromCode((int) a.intValue()) : null).orElse(dflt);
    }

    private static DataType constantType(Node n) {
        for (Attribute a : n.attributes().values()) {
            switch (a.name()) {
                case "value":
                    return a.kind() == Attribute.Kind.TENSOR ? ((Tensor) a.value()).dataType() : null;
                case "value_float", "value_floats":
                    return DataType.FLOAT;
                case "value_int", "value_ints":
                    return DataType.INT64;
                case "value_string", "value_strings":
                    return DataType.STRING;
                default:
                    break;
            }
        }
        return null; // sparse_value: not interpreted
    }

    /** The element type of a sequence of tensors: from its declared type, else from the node that built it. */
    private DataType sequenceElementType(Value seq, int depth) {
        if (seq == null || depth > 64) {
            return null;
        }
        if (seq.hasNonTensorType()) {
            try {
                TypeProto t = TypeProto.parseFrom(seq.opaqueType());
                if (t.hasSequenceType() && t.getSequenceType().getElemType().hasTensorType()) {
                    int code = t.getSequenceType().getElemType().getTensorType().getElemType();
                    if (code != 0 && DataType.isKnownCode(code)) {
                        return DataType.fromCode(code);
                    }
                }
            } catch (InvalidProtocolBufferException e) {
                // an unreadable declaration says nothing; fall back to the producer
            }
        }
        Node p = seq.producer();
        if (p == null || !p.isDefaultDomain()) {
            return null;
        }
        return switch (p.opType()) {
            case "SequenceConstruct", "SplitToSequence" -> of(p.input(0));
            case "SequenceInsert" -> of(p.input(1));
            case "SequenceErase" -> sequenceElementType(p.input(0), depth + 1);
            case "SequenceEmpty" -> code(p, "dtype", DataType.FLOAT);
            default -> null;
        };
    }

    private DataType subgraphOutput(Node n, String attr, int index) {
        return n.attribute(attr).filter(a -> a.kind() == Attribute.Kind.GRAPH).map(a -> {
            List<Value> outs = ((Graph) a.value()).outputs();
            return index < outs.size() ? of(outs.get(index)) : null;
        }).orElse(null);
    }

    private DataType firstInputType(Node n) {
        for (Value v : n.inputs()) {
            if (v != null) {
                return of(v);
            }
        }
        return null;
    }
}
