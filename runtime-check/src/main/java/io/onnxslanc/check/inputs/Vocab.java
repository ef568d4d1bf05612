package io.onnxslanc.check.inputs;

import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.util.HashMap;
import java.util.Map;

/**
 * The id range of an integer input: the rows of the embedding table a Gather indexes with it (also inside If / Loop
 * bodies, as in a merged decoder, whose tables are outer-graph initializers), else the fixed last dim of a
 * {@code logits} output.
 */
public final class Vocab {
    private Vocab() {
    }

    /** Rows of the table indexed by this input, or -1. */
    public static long of(ModelProto model, String inputName) {
        Map<String, TensorProto> inits = new HashMap<>();
        for (TensorProto t : model.getGraph().getInitializerList()) {
            inits.put(t.getName(), t);
        }
        long rows = gatherRows(model.getGraph(), inputName, inits);
        return rows > 0 ? rows : logitsWidth(model.getGraph());
    }

    private static long gatherRows(GraphProto g, String input, Map<String, TensorProto> inits) {
        for (NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("Gather") && n.getInputCount() == 2 && n.getInput(1).equals(input)) {
                TensorProto table = inits.get(n.getInput(0));
                if (table != null && table.getDimsCount() == 2) {
                    return table.getDims(0);
                }
            }
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    long r = gatherRows(a.getG(), input, inits);
                    if (r > 0) {
                        return r;
                    }
                }
            }
        }
        return -1;
    }

    private static long logitsWidth(GraphProto g) {
        for (ValueInfoProto o : g.getOutputList()) {
            var dims = o.getType().getTensorType().getShape().getDimList();
            if (o.getName().equals("logits") && !dims.isEmpty()) {
                TensorShapeProto.Dimension last = dims.get(dims.size() - 1);
                if (last.hasDimValue() && last.getDimValue() > 1) {
                    return last.getDimValue();
                }
            }
        }
        return -1;
    }
}
