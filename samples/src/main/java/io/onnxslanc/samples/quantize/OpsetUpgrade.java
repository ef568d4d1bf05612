package io.onnxslanc.samples.quantize;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import java.util.ArrayList;

/**
 * Raises a model's default-domain opset to 21 (needed for int4 and blocked DequantizeLinear). Handles what this
 * project's test models use that changed on the way: opset 18 moved the axes of ReduceMean / ReduceMax / ... from
 * an attribute to an input, and an equal Split needs num_outputs. Other changed ops make it fail loudly rather than write a wrong model.
 */
final class OpsetUpgrade {
    private OpsetUpgrade() {
    }

    static void to21(Model m) {
        long from = m.opset("");
        if (from >= 21) {
            return;
        }
        Graph g = m.graph();
        for (Node n : new ArrayList<>(g.nodes())) {
            if (n.domain().isEmpty() && n.opType().startsWith("Reduce") && !n.is("ReduceSum") && n.attribute("axes").isPresent()) {
                long[] axes = n.attribute("axes").get().intsValue();
                n.removeAttribute("axes");
                n.addInput(g.addInitializer(g.uniqueName(n.name() + "_axes"), ArrayTensor.ofLongs(new long[] {axes.length}, axes)));
            } else if (n.is("Split") && (n.inputs().size() < 2 || n.input(1) == null) && n.attribute("split").isEmpty()
                    && n.attribute("num_outputs").isEmpty()) {
                n.setAttribute(Attribute.ofInt("num_outputs", n.outputs().size())); // required from opset 18 for equal parts
            } else if (n.domain().isEmpty() && (n.is("Split") && n.attribute("split").isPresent()
                    || n.is("Pad") && n.attribute("pads").isPresent() || n.is("Resize") || n.is("Upsample"))) {
                throw new IllegalArgumentException("opset upgrade: " + n.opType() + " '" + n.name() + "' changed form; not handled");
            }
        }
        m.opsets().put("", 21L);
        if (m.irVersion() < 10) {
            m.setIrVersion(10); // opset 21 goes with IR version 10
        }
    }
}
