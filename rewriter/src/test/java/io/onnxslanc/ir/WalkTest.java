package io.onnxslanc.ir;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Walk.back and activation fake-quantization pairs (quantize_static's QDQ models, issue 11). */
class WalkTest {
    private static Value quantizeDequantize(Graph g, Value x, String name) {
        Value scale = g.addInitializer(name + "_scale", ArrayTensor.scalarFloat(0.05f));
        Value q = g.addNode("QuantizeLinear", "", name + "_q", List.of(x, scale), List.of(name + "_q_out")).output(0);
        return g.addNode("DequantizeLinear", "", name + "_dq", List.of(q, scale), List.of(name + "_dq_out")).output(0);
    }

    @Test
    void castWalksPassAnActivationPairOtherWalksDoNot() {
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT, 2, 4));
        Value h = g.addNode("Relu", "", "relu", List.of(x), List.of("h")).output(0);
        Value fq = quantizeDequantize(g, h, "act");
        Value cast = g.addNode("Cast", "", "cast", List.of(fq), List.of("c")).output(0);
        assertSame(h, Walk.back(cast, Walk.CAST_LIKE), "Cast, then the Q/DQ pair, back to the Relu output");
        assertSame(fq, Walk.back(fq, Set.of("Reshape")), "a walk that does not pass Casts stops at the pair");
    }

    @Test
    void aPairOnAConstantWeightIsNotAnActivation() {
        Graph g = new Graph();
        Value w = g.addInitializer("w", ArrayTensor.ofFloats(new long[] {2, 2}, 1, 2, 3, 4));
        Value fq = quantizeDequantize(g, w, "w");
        assertNull(Walk.fakeQuantized(fq.producer()));
        assertSame(fq, Walk.back(fq, Walk.CAST_LIKE));
    }
}
