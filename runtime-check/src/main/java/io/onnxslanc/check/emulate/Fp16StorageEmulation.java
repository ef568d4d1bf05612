package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.TensorTypes;
import io.onnxslanc.check.model.TensorTypes.TensorType;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * "fp16-storage": every float tensor holds only FP16 values while arithmetic stays FP32, as on hardware that
 * stores activations in FP16 and computes in wider registers. Each float node output X is renamed X__emu_fp32
 * and followed by a Cast pair that produces X again, so consumers and graph outputs need no rewiring.
 * Float initializers and Constant values are rounded in place; float graph inputs get a round trip.
 * Ops that only move or select values (Reshape, Transpose, Gather, Dropout, Relu, ...) of inputs that are already
 * FP16 values get no round trip: it would change nothing, and ORT drops such pairs once it removes a no-op node
 * (Cast FP16->FP32->FP16 is lossless), which would then look like a lost emulation cast.
 */
final class Fp16StorageEmulation {
    private Fp16StorageEmulation() {}

    /** Ops whose float outputs are elements of their float inputs (or their negation or zero). */
    private static final Set<String> VALUE_PRESERVING = Set.of("Identity", "Dropout", "Reshape", "Transpose", "Squeeze",
            "Unsqueeze", "Flatten", "Slice", "Gather", "GatherElements", "GatherND", "Concat", "Split", "Expand", "Tile",
            "Relu", "Max", "Min", "Neg", "Abs", "Where", "ReduceMax", "ReduceMin", "MaxPool", "DepthToSpace", "SpaceToDepth");

    static ModelProto apply(ModelProto model) {
        GraphProto g = model.getGraph();
        rejectSubgraphs(g);
        Map<String, TensorType> types = TensorTypes.infer(model);
        CastPairs casts = new CastPairs(allNames(g));

        GraphProto.Builder out = g.toBuilder().clearNode().clearInitializer();
        Set<String> initializers = new HashSet<>();
        Set<String> rounded = new HashSet<>(); // tensors that hold FP16 values only
        for (TensorProto t : g.getInitializerList()) {
            out.addInitializer(CastPairs.roundTensor(t));
            initializers.add(t.getName());
            rounded.add(t.getName());
        }
        Map<String, String> roundedInputs = new HashMap<>();
        for (ValueInfoProto in : g.getInputList()) {
            if (initializers.contains(in.getName()) || in.getType().getTensorType().getElemType() != TensorProto.DataType.FLOAT_VALUE)
                continue;
            String roundedName = casts.fresh(in.getName() + "__emu_rt");
            out.addAllNode(casts.roundTrip(in.getName(), roundedName));
            roundedInputs.put(in.getName(), roundedName);
            rounded.add(roundedName);
        }
        for (NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("Constant") && n.getDomain().isEmpty()) {
                out.addNode(roundConstant(n)); // rounded value; a Cast pair here would only be constant-folded
                rounded.addAll(n.getOutputList());
                continue;
            }
            NodeProto.Builder b = n.toBuilder();
            for (int i = 0; i < n.getInputCount(); i++) {
                String r = roundedInputs.get(n.getInput(i));
                if (r != null) b.setInput(i, r);
            }
            if (n.getDomain().isEmpty() && VALUE_PRESERVING.contains(n.getOpType()) && b.getInputList().stream()
                    .allMatch(i -> i.isEmpty() || rounded.contains(i) || !isFloat(types.get(i)))) {
                out.addNode(b.build());
                rounded.addAll(n.getOutputList());
                continue;
            }
            List<NodeProto> after = new ArrayList<>();
            for (int i = 0; i < n.getOutputCount(); i++) {
                String o = n.getOutput(i);
                TensorType t = types.get(o);
                if (o.isEmpty() || !isFloat(t)) continue;
                String raw = casts.fresh(o + "__emu_fp32");
                b.setOutput(i, raw);
                after.addAll(casts.roundTrip(raw, o));
                rounded.add(o);
            }
            out.addNode(b.build()).addAllNode(after);
        }
        return model.toBuilder().setGraph(out).build();
    }

    private static boolean isFloat(TensorType t) {
        return t != null && t.isFloat();
    }

    static void rejectSubgraphs(GraphProto g) {
        for (NodeProto n : g.getNodeList())
            for (AttributeProto a : n.getAttributeList())
                if (a.hasG() || a.getGraphsCount() > 0)
                    throw new IllegalArgumentException("FP16 emulation does not handle subgraphs: node '" + n.getName() + "' ("
                            + n.getOpType() + ") holds one in attribute '" + a.getName() + "'; its inner tensors would not be rounded");
    }

    private static NodeProto roundConstant(NodeProto n) {
        NodeProto.Builder b = n.toBuilder();
        for (int i = 0; i < b.getAttributeCount(); i++) {
            AttributeProto a = b.getAttribute(i);
            switch (a.getName()) {
                case "value" -> b.setAttribute(i, a.toBuilder().setT(CastPairs.roundTensor(a.getT())));
                case "value_float" -> b.setAttribute(i, a.toBuilder().setF(CastPairs.round(a.getF())));
                case "value_floats" -> {
                    AttributeProto.Builder ab = a.toBuilder().clearFloats();
                    for (float f : a.getFloatsList()) ab.addFloats(CastPairs.round(f));
                    b.setAttribute(i, ab);
                }
                default -> { }
            }
        }
        return b.build();
    }

    static Set<String> allNames(GraphProto g) {
        Set<String> names = new HashSet<>();
        g.getInputList().forEach(v -> names.add(v.getName()));
        g.getOutputList().forEach(v -> names.add(v.getName()));
        g.getInitializerList().forEach(t -> names.add(t.getName()));
        for (NodeProto n : g.getNodeList()) {
            names.addAll(n.getInputList());
            names.addAll(n.getOutputList());
        }
        return names;
    }
}
