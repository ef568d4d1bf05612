package io.onnxslanc.rewrite;

import io.onnxslanc.match.Constants;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Epsilon;
import io.onnxslanc.match.NormSite;
import java.util.Set;

/**
 * The element type of a norm's input, which the inserted constant must share. Exported graphs often carry no
 * value_info for intermediate tensors, so when the value itself is untyped the evidence is taken from the norm
 * (its gain and epsilon constant have the input's type) and then from producers that fix or keep the type.
 */
final class ElementTypes {
    /** Ops whose output has the element type of their first input. */
    private static final Set<String> SAME_AS_INPUT = Set.of("Add", "Sub", "Mul", "Div", "MatMul", "Gemm", "Reshape",
            "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Gather", "Concat", "Slice", "Split", "Expand",
            "Neg", "Relu", "Sigmoid", "Tanh", "Erf", "Gelu", "Softmax", "LayerNormalization", "SimplifiedLayerNormalization",
            "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "Where");
    /** Of those, the ops whose other inputs are indices, shapes or axes: only the first one says the type. */
    private static final Set<String> DATA_FIRST_ONLY = Set.of("Gather", "Reshape", "Expand", "Slice", "Squeeze",
            "Unsqueeze", "Split", "Transpose", "Flatten");

    private ElementTypes() {
    }

    /** The type of the norm's input, or null when nothing tells. */
    static DataType ofNormInput(NormSite site) {
        DataType t = of(site.input(), new int[] {256});
        if (t != null) {
            return t;
        }
        Tensor gamma = io.onnxslanc.canon.ConstantFolder.value(site.gamma());
        if (gamma != null && gamma.dataType().isFloatingPoint()) {
            return gamma.dataType();
        }
        if (site.epsilon() instanceof Epsilon.InTensor e) {
            Tensor eps = Constants.tensor(e.addNode().input(e.inputIndex()));
            if (eps != null && eps.dataType().isFloatingPoint()) {
                return eps.dataType();
            }
        }
        return null;
    }

    /** Searches producers depth first, visiting at most {@code budget[0]} values. */
    static DataType of(Value v, int[] budget) {
        if (v == null || budget[0]-- <= 0) {
            return null;
        }
        if (v.elemType() != null && v.elemType() != DataType.UNDEFINED) {
            return v.elemType();
        }
        Tensor c = Constants.tensor(v);
        if (c != null) {
            return c.dataType();
        }
        Node p = v.producer();
        if (p == null) {
            return null;
        }
        if (p.is("Cast")) {
            long to = p.intAttr("to", 0);
            return DataType.isKnownCode((int) to) ? DataType.fromCode((int) to) : null;
        }
        if (p.opType().equals("Where")) {
            DataType t = of(p.input(1), budget);
            return t != null ? t : of(p.input(2), budget);
        }
        if (!SAME_AS_INPUT.contains(p.opType())) {
            return null;
        }
        int n = DATA_FIRST_ONLY.contains(p.opType()) ? 1 : p.inputs().size();
        for (int i = 0; i < n; i++) {
            DataType t = of(p.input(i), budget);
            if (t != null && t.isFloatingPoint()) {
                return t;
            }
        }
        return null;
    }
}
