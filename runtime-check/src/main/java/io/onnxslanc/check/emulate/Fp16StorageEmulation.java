package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.Protos;
import io.onnxslanc.check.model.OrtTypeInference;
import io.onnxslanc.check.model.OrtTensorType;
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
 * Float initializers and Constant values are rounded in place (beyond +-65504 saturated, as converters store
 * constants); float graph inputs get a round trip.
 * <p>
 * Nodes whose output provably holds FP16 values already (data movement such as Reshape or Gather, Relu, a
 * same-type Cast, x + 0, x * 1 on rounded inputs) get no round trip: it would change nothing, and ORT removes
 * such a no-op node and then the Cast pair FP16 -> FP32 -> FP16 it leaves behind (lossless), which would look
 * like a lost emulation cast.
 */
final class Fp16StorageEmulation {
    private Fp16StorageEmulation() {}

    /** Ops whose float outputs are elements of their float inputs (or their negation or zero). */
    private static final Set<String> VALUE_PRESERVING = Set.of("Identity", "Dropout", "Reshape", "Transpose", "Squeeze",
            "Unsqueeze", "Flatten", "Slice", "Gather", "GatherElements", "GatherND", "Concat", "Split", "Expand", "Tile",
            "Relu", "Max", "Min", "Neg", "Abs", "Where", "ReduceMax", "ReduceMin", "MaxPool", "DepthToSpace", "SpaceToDepth");

    static ModelProto apply(ModelProto model) {
        return apply(model, Set.of());
    }

    /**
     * As {@link #apply(ModelProto)}, except for the tensors named in {@code fp32}: node outputs that get no round trip
     * and constants that are not rounded, because they live inside an FP32 island (a norm computed in FP32 between
     * FP16 tensors, as the converter's normsFp32 option builds it). A tensor leaving an island must not be listed:
     * it is rounded like any other, which is the Cast to FP16 at the island's boundary.
     */
    static ModelProto apply(ModelProto model, Set<String> fp32) {
        GraphProto g = model.getGraph();
        rejectSubgraphs(g);
        Pass p = new Pass(OrtTypeInference.infer(model), new CastPairs(allNames(g)));
        GraphProto.Builder out = g.toBuilder().clearNode().clearInitializer();

        Set<String> initializers = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) {
            if (fp32.contains(t.getName())) {
                out.addInitializer(t);
                initializers.add(t.getName());
                continue;
            }
            TensorProto r = CastPairs.roundTensor(t);
            out.addInitializer(r);
            initializers.add(t.getName());
            p.rounded(t.getName(), r);
        }
        Map<String, String> roundedInputs = new HashMap<>();
        for (ValueInfoProto in : g.getInputList()) {
            if (initializers.contains(in.getName()) || in.getType().getTensorType().getElemType() != TensorProto.DataType.FLOAT_VALUE)
                continue;
            String roundedName = p.casts.fresh(in.getName() + "__emu_rt");
            out.addAllNode(p.casts.roundTrip(in.getName(), roundedName));
            roundedInputs.put(in.getName(), roundedName);
            p.rounded.add(roundedName);
        }
        for (NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("Constant") && n.getDomain().isEmpty() && fp32.contains(n.getOutput(0))) {
                out.addNode(n);
                continue;
            }
            if (n.getOpType().equals("Constant") && n.getDomain().isEmpty()) {
                NodeProto c = roundConstant(n); // rounded value; a Cast pair here would only be constant-folded
                out.addNode(c);
                AttributeProto v = Protos.attr(c, "value");
                p.rounded(c.getOutput(0), v != null && v.hasT() ? v.getT() : null);
                continue;
            }
            NodeProto.Builder b = n.toBuilder();
            for (int i = 0; i < n.getInputCount(); i++) {
                String r = roundedInputs.get(n.getInput(i));
                if (r != null) b.setInput(i, r);
            }
            if (p.keepsFp16Values(b.build())) {
                out.addNode(b.build());
                p.rounded.addAll(n.getOutputList());
                continue;
            }
            List<NodeProto> after = new ArrayList<>();
            for (int i = 0; i < n.getOutputCount(); i++) {
                String o = n.getOutput(i);
                if (o.isEmpty() || !p.isFloat(o) || fp32.contains(o)) continue;
                String raw = p.casts.fresh(o + "__emu_fp32");
                b.setOutput(i, raw);
                after.addAll(p.casts.roundTrip(raw, o));
                p.rounded.add(o);
            }
            out.addNode(b.build()).addAllNode(after);
        }
        return model.toBuilder().setGraph(out).build();
    }

    /** What the pass knows while it walks the nodes in order. */
    private static final class Pass {
        final Map<String, OrtTensorType> types;
        final CastPairs casts;
        final Set<String> rounded = new HashSet<>();               // tensors that hold FP16 values only
        final Map<String, float[]> smallConstants = new HashMap<>(); // rounded values of small float constants

        Pass(Map<String, OrtTensorType> types, CastPairs casts) {
            this.types = types;
            this.casts = casts;
        }

        void rounded(String name, TensorProto value) {
            rounded.add(name);
            if (value != null && value.getDataType() == TensorProto.DataType.FLOAT_VALUE && !Protos.isExternal(value)
                    && value.getDimsList().stream().reduce(1L, (a, b) -> a * b) <= 64)
                smallConstants.put(name, Protos.floats(value));
        }

        boolean isFloat(String tensor) {
            OrtTensorType t = types.get(tensor);
            return t != null && t.isFloat();
        }

        /** True when every float output of n is already an FP16 value, given its inputs are. */
        boolean keepsFp16Values(NodeProto n) {
            if (!n.getDomain().isEmpty()) return false;
            boolean inputsRounded = n.getInputList().stream().allMatch(i -> i.isEmpty() || rounded.contains(i) || !isFloat(i));
            if (!inputsRounded) return false;
            return switch (n.getOpType()) {
                case "Add" -> all(n, 1, 0f) || all(n, 0, 0f);
                case "Sub" -> all(n, 1, 0f);
                case "Mul" -> all(n, 1, 1f) || all(n, 0, 1f);
                case "Div" -> all(n, 1, 1f);
                case "Cast" -> Protos.intAttr(n, "to", 0) == TensorProto.DataType.FLOAT_VALUE && isFloat(n.getInput(0));
                default -> VALUE_PRESERVING.contains(n.getOpType());
            };
        }

        private boolean all(NodeProto n, int input, float value) {
            float[] c = n.getInputCount() > input ? smallConstants.get(n.getInput(input)) : null;
            if (c == null || c.length == 0) return false;
            for (float v : c) if (v != value) return false;
            return true;
        }
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
                case "value_float" -> b.setAttribute(i, a.toBuilder().setF(CastPairs.roundConstant(a.getF())));
                case "value_floats" -> {
                    AttributeProto.Builder ab = a.toBuilder().clearFloats();
                    for (float f : a.getFloatsList()) ab.addFloats(CastPairs.roundConstant(f));
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
