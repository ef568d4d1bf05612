package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Recognises the MLP in front of a norm from its last projection (W_down / W_2): the activation region between the
 * projections is walked back to the linear layers that feed it.
 */
final class MlpBlocks {
    /** Elementwise ops whose presence makes a branch nonlinear (the gate side of a gated MLP). */
    private static final Set<String> NONLINEAR = Set.of("Sigmoid", "Tanh", "Erf", "Relu", "LeakyRelu", "Elu", "Selu",
            "Celu", "Gelu", "FastGelu", "QuickGelu", "BiasGelu", "Softplus", "Softsign", "HardSigmoid", "HardSwish",
            "Mish", "Silu", "Swish", "Clip", "ThresholdedRelu", "PRelu");
    /** Elementwise arithmetic an activation is decomposed into (x * sigmoid(x), 0.5 x (1 + erf(x / sqrt 2)), ...). */
    private static final Set<String> ARITHMETIC = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Neg", "Cast", "Identity");

    /** A gated MLP (gate and up from the same norm) or a plain one (w1 only). */
    record Mlp(LinearLayer gate, LinearLayer up, LinearLayer w1) {
        boolean gated() {
            return gate != null;
        }
    }

    /** The linear layers an activation region reads, and whether a nonlinearity was seen. */
    private record Sources(List<LinearLayer> linears, boolean nonlinear) {
    }

    private MlpBlocks() {
    }

    static Found<Mlp> match(LinearLayer down) {
        Value u = GraphOps.through(down.input(), GraphOps.LAYOUT_OPS);
        Node p = u.producer();
        if (p != null && p.is("Mul") && !GraphOps.isConstant(p.input(0)) && !GraphOps.isConstant(p.input(1))) {
            Found<Sources> a = sources(p.input(0));
            Found<Sources> b = sources(p.input(1));
            if (a.ok() && b.ok() && a.value().linears().size() == 1 && b.value().linears().size() == 1
                    && !a.value().linears().get(0).equals(b.value().linears().get(0))) { // distinct layers or rows
                if (a.value().nonlinear() == b.value().nonlinear()) {
                    return Found.fail("gated MLP in front of '" + down.node().name() + "': "
                            + (a.value().nonlinear() ? "both factors" : "neither factor")
                            + " of Mul '" + p.name() + "' has an activation; cannot tell the gate from the up projection");
                }
                LinearLayer gate = a.value().nonlinear() ? a.value().linears().get(0) : b.value().linears().get(0);
                LinearLayer up = a.value().nonlinear() ? b.value().linears().get(0) : a.value().linears().get(0);
                return Found.of(new Mlp(gate, up, null));
            }
        }
        Found<Sources> s = sources(u);
        if (!s.ok()) {
            return Found.fail("the input of '" + down.node().name() + "' " + s.reason());
        }
        if (s.value().linears().size() != 1) {
            return Found.fail("the input of '" + down.node().name() + "' combines " + s.value().linears().size()
                    + " projections in a way that is neither a gated nor a plain MLP");
        }
        return Found.of(new Mlp(null, null, s.value().linears().get(0)));
    }

    /** Walks back from {@code v} through activation ops and bias Adds to the linear layers that produce it. */
    private static Found<Sources> sources(Value v) {
        List<LinearLayer> linears = new ArrayList<>();
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Value> todo = new ArrayDeque<>(List.of(v));
        boolean nonlinear = false;
        while (!todo.isEmpty()) {
            Value x = todo.pop();
            Node p = x.producer();
            if (p == null) {
                return Found.fail("reaches " + GraphOps.describe(x) + " through the activation");
            }
            if (!seen.add(p)) {
                continue;
            }
            if (seen.size() > 64) {
                return Found.fail("has an activation region of more than 64 nodes");
            }
            Found<LinearLayer> lin = LinearLayer.of(p);
            if (lin.ok()) {
                linears.add(lin.value());
                continue;
            }
            boolean standardOrMs = p.isDefaultDomain() || p.domain().equals("com.microsoft");
            String op = p.opType();
            if (p.isDefaultDomain() && (p.is("Split") || p.is("Slice"))) {
                // one chunk of a packed projection (Phi3's gate_up_proj: chunk(2) written as Slice or Split)
                Found<LinearLayer> chunk = PackedProjections.packedRows(p, x);
                if (!chunk.ok()) {
                    return Found.fail("reaches " + GraphOps.describe(x) + " ('" + p.name() + "'): " + chunk.reason());
                }
                linears.add(chunk.value());
                continue;
            }
            if (p.isOneOf(GraphOps.LAYOUT_OPS)) {
                todo.add(p.input(0)); // Reshapes around Gemm layers; the other inputs are shapes and axes
                continue;
            }
            Value fakeQuantized = io.onnxslanc.ir.Walk.fakeQuantized(p);
            if (fakeQuantized != null) { // an activation Q/DQ pair (QDQ models) keeps the value up to rounding
                todo.add(fakeQuantized);
                continue;
            }
            if (!standardOrMs || !(NONLINEAR.contains(op) || ARITHMETIC.contains(op))) {
                return Found.fail("reaches " + GraphOps.describe(x) + " ('" + p.name() + "'), not an activation or a linear layer");
            }
            List<Value> computed = new ArrayList<>();
            for (Value in : p.inputs()) {
                if (in != null && !GraphOps.isConstant(in)) {
                    computed.add(in);
                }
            }
            boolean productOfComputed = op.equals("Mul") && computed.size() == 2; // x * sigmoid(x), x * (1 + erf(...))
            boolean power = op.equals("Pow") || op.equals("Div") && computed.size() == 2;
            nonlinear |= NONLINEAR.contains(op) || productOfComputed || power;
            todo.addAll(computed);
        }
        return Found.of(new Sources(linears, nonlinear));
    }
}
