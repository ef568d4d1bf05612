package io.onnxslanc.check.emulate;

import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;

import java.util.HashSet;
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
        for (NodeProto n : optimised.getGraph().getNodeList())
            if (isEmulationCast(n)) kept.add(n.getName());
        Set<String> constant = constantTensors(emulated.getGraph());
        int inserted = 0, survived = 0, onConstants = 0, onConstantsKept = 0;
        for (NodeProto n : emulated.getGraph().getNodeList()) {
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

    /** Tensors computed only from initializers (not overridable graph inputs), Constant nodes and Shape/Size. */
    private static Set<String> constantTensors(GraphProto g) {
        Set<String> inputs = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) inputs.add(v.getName());
        Set<String> constant = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) if (!inputs.contains(t.getName())) constant.add(t.getName());
        for (NodeProto n : g.getNodeList()) { // nodes are in topological order
            boolean shapeOnly = n.getDomain().isEmpty() && (n.getOpType().equals("Shape") || n.getOpType().equals("Size"));
            boolean allConstant = shapeOnly || n.getInputList().stream().allMatch(i -> i.isEmpty() || constant.contains(i));
            if (allConstant && !n.getOpType().startsWith("Random")) constant.addAll(n.getOutputList());
        }
        return constant;
    }
}
