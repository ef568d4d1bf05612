package io.onnxslanc.samples.amplify;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;

/**
 * Writers with quantized weights: scaling W by c means scaling its float scales, since W = (q - zp) * scale (the
 * integers and integer zero points stay as they are; a float zero point is subtracted before the scale applies).
 * com.microsoft MatMulNBits keeps its scales in input 2; a MatMul fed by DequantizeLinear has them in the
 * DequantizeLinear's input 1.
 */
final class QuantizedWriters {
    private QuantizedWriters() {
    }

    static boolean isMatMulNBits(Node n) {
        return n.is("com.microsoft", "MatMulNBits");
    }

    /** The DequantizeLinear producing a MatMul / Gemm weight operand, or null. */
    static Node dequantizer(Node linear) {
        Value w = linear.input(1);
        Node p = w == null ? null : w.producer();
        return p != null && p.is("DequantizeLinear") ? p : null;
    }

    /** Scales a quantized writer's weight by c; null when the weight is not quantized. */
    static Value scale(Graph graph, Node linear, double c, String role) {
        if (isMatMulNBits(linear)) {
            return ScaledConstants.replace(graph, linear, 2, c, role + " scales");
        }
        Node dq = dequantizer(linear);
        if (dq != null) {
            if (dq.output(0).uses().size() != 1) {
                throw new IllegalArgumentException(role + ": DequantizeLinear '" + dq.name() + "' feeds several nodes");
            }
            return ScaledConstants.replace(graph, dq, 1, c, role + " scale");
        }
        return null;
    }
}
