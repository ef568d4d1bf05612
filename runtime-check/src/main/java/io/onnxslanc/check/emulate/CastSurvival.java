package io.onnxslanc.check.emulate;

import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How many emulation Casts ONNX Runtime kept, read from the optimised model it saved. Casts on tensors that
 * depend on graph inputs must all survive. Casts on tensors computed from constants and tensor shapes only are
 * counted apart: ORT may fold them (shapes it knows statically included), and the folded value is still rounded.
 */
public record CastSurvival(int inserted, int survived, int onConstants, int onConstantsKept) {

    public boolean complete() {
        return survived == inserted;
    }

    public String summary() {
        String constants = onConstants == 0 ? ""
                : onConstantsKept == onConstants ? " (plus " + onConstants + " on constant or shape-only tensors, all kept)"
                : " (plus " + onConstants + " on constant or shape-only tensors: " + onConstantsKept
                + " kept, the rest folded by ONNX Runtime with the rounding applied)";
        return survived + " of " + inserted + " emulation casts survived" + constants;
    }

    static CastSurvival count(ModelProto emulated, ModelProto optimised) {
        Set<String> kept = new HashSet<>();
        for (NodeProto n : allNodes(optimised.getGraph(), new ArrayList<>()))
            if (isEmulationCast(n)) kept.add(n.getName());
        Set<String> constant = new HashSet<>();
        constantTensors(emulated.getGraph(), constant);
        int inserted = 0, survived = 0, onConstants = 0, onConstantsKept = 0;
        for (NodeProto n : allNodes(emulated.getGraph(), new ArrayList<>())) {
            if (!isEmulationCast(n)) continue;
            boolean present = kept.contains(n.getName());
            if (constant.contains(n.getInput(0))) {
                onConstants++;
                if (present) onConstantsKept++;
            } else {
                inserted++;
                if (present) survived++;
            }
        }
        return new CastSurvival(inserted, survived, onConstants, onConstantsKept);
    }

    private static boolean isEmulationCast(NodeProto n) {
        return n.getOpType().equals("Cast") && n.getName().startsWith(CastPairs.PREFIX);
    }

    /** Every node of g and of the If/Loop/Scan bodies inside it (the emulation's Cast names are unique across them). */
    private static List<NodeProto> allNodes(GraphProto g, List<NodeProto> into) {
        for (NodeProto n : g.getNodeList()) {
            into.add(n);
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) allNodes(a.getG(), into);
                for (GraphProto body : a.getGraphsList()) allNodes(body, into);
            }
        }
        return into;
    }

    /**
     * Adds the tensors computed only from initializers (not overridable graph inputs), Constant nodes and Shape/Size,
     * in g and in its bodies (whose own inputs are never constant; names are unique across scopes).
     */
    private static void constantTensors(GraphProto g, Set<String> constant) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) inputs.add(v.getName());
        constant.removeAll(inputs);
        for (TensorProto t : g.getInitializerList()) if (!inputs.contains(t.getName())) constant.add(t.getName());
        for (NodeProto n : g.getNodeList()) { // nodes are in topological order
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) constantTensors(a.getG(), constant);
                for (GraphProto body : a.getGraphsList()) constantTensors(body, constant);
            }
            boolean shapeOnly = n.getDomain().isEmpty() && (n.getOpType().equals("Shape") || n.getOpType().equals("Size"));
            boolean allConstant = shapeOnly || n.getInputList().stream().allMatch(i -> i.isEmpty() || constant.contains(i));
            if (allConstant && !n.getOpType().startsWith("Random") && n.getAttributeList().stream().noneMatch(a -> a.hasG() || a.getGraphsCount() > 0))
                constant.addAll(n.getOutputList());
        }
    }
}
