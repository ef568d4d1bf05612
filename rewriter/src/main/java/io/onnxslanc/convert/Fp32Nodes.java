package io.onnxslanc.convert;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Decides which nodes keep computing in float32 (the converter casts around them), and why. */
final class Fp32Nodes {

    /** Why a node stays float32; reported. */
    enum Reason {
        NODE_BLOCK_LIST, OP_BLOCK_LIST, NORM, FLOAT32_ONLY_OP, QUANTIZED_RESCALE, INSIDE_FP32_SUBGRAPH
    }

    private final Map<Node, Reason> blocked = new LinkedHashMap<>(); // Node has identity equality
    private final long opset;

    private Fp32Nodes(long opset) {
        this.opset = opset;
    }

    static Fp32Nodes decide(Model model, Fp16Options options) {
        Graph main = model.graph();
        Fp32Nodes d = new Fp32Nodes(model.opset(""));
        d.checkNodeNames(main, options.nodeBlockList());
        List<Node> all = new ArrayList<>();
        main.forEachNodeRecursive(all::add);
        for (Node n : all) {
            if (options.nodeBlockList().contains(n.name())) {
                d.block(n, Reason.NODE_BLOCK_LIST);
            } else if (matchesOpList(n, options.opBlockList())) {
                d.block(n, Reason.OP_BLOCK_LIST);
            } else if (options.normsFp32() && OpRules.NORM_OPS.contains(n.opType())) {
                d.block(n, Reason.NORM);
            } else if (OpRules.float32Only(n, d.opset)) {
                d.block(n, Reason.FLOAT32_ONLY_OP);
            }
        }
        for (Node n : all) {
            if (options.normsFp32()) {
                d.blockDecomposedNormStatistics(n);
            }
            if (OpRules.isDefaultDomain(n) && OpRules.INTEGER_MATMULS.contains(n.opType())) {
                d.blockIntegerRescale(n);
            }
        }
        for (Node n : new ArrayList<>(d.blocked.keySet())) {
            d.blockSubgraphs(n);
        }
        return d;
    }

    boolean isBlocked(Node n) {
        return blocked.containsKey(n);
    }

    Map<Node, Reason> blocked() {
        return blocked;
    }

    private void block(Node n, Reason r) {
        blocked.putIfAbsent(n, r);
    }

    private void checkNodeNames(Graph main, Set<String> names) {
        Set<String> missing = new TreeSet<>(names);
        main.forEachNodeRecursive(n -> missing.remove(n.name()));
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("node block list names " + (missing.size() == 1 ? "a node" : "nodes")
                    + " the model does not have: " + String.join(", ", missing));
        }
    }

    /** "OpType" matches in every domain, "domain:OpType" in that domain only. */
    private static boolean matchesOpList(Node n, Set<String> ops) {
        return ops.contains(n.opType()) || ops.contains(n.domain() + ":" + n.opType())
                || (OpRules.isDefaultDomain(n) && ops.contains("ai.onnx:" + n.opType()));
    }

    /**
     * A decomposed norm keeps its statistics in float32: x^2 (Pow or Mul(x, x)) feeding a ReduceMean,
     * the mean subtraction in front of it (LayerNorm), and the path ReduceMean -> Add(eps) -> Sqrt ->
     * Div / Reciprocal that ends in the normalised value. The gain and bias stay in the target type.
     */
    private void blockDecomposedNormStatistics(Node square) {
        boolean isSquare = (square.is("Pow") && exponentIsTwoOrUnknown(square.input(1)))
                || (square.is("Mul") && square.input(0) != null && square.input(0) == square.input(1));
        if (!isSquare) {
            return;
        }
        List<Node> means = square.output(0).consumers().stream().filter(c -> c.is("ReduceMean")).toList();
        if (means.isEmpty()) {
            return;
        }
        block(square, Reason.NORM);
        Node centre = square.input(0).producer();
        if (centre != null && centre.is("Sub") && centre.input(1) != null && centre.input(1).producer() != null
                && centre.input(1).producer().is("ReduceMean")) {
            block(centre, Reason.NORM);
            block(centre.input(1).producer(), Reason.NORM);
        }
        for (Node mean : means) {
            block(mean, Reason.NORM);
            blockForward(mean, 0);
        }
    }

    private void blockForward(Node from, int depth) {
        if (depth > 3) {
            return;
        }
        for (Node c : from.output(0).consumers()) {
            if (c.is("Add") || c.is("Sqrt")) {
                block(c, Reason.NORM);
                blockForward(c, depth + 1);
            } else if (c.is("Reciprocal") || c.is("Div")) {
                block(c, Reason.NORM);
                boolean inverseOnly = c.is("Reciprocal") || isConstant(c.input(0));
                if (inverseOnly) { // 1 / std: the multiply by it is the normalisation
                    c.output(0).consumers().stream().filter(m -> m.is("Mul")).forEach(m -> block(m, Reason.NORM));
                }
            }
        }
    }

    private static boolean exponentIsTwoOrUnknown(Value exponent) {
        Tensor t = constantTensor(exponent);
        if (t == null) {
            return true;
        }
        try {
            return t.elementCount() == 1 && t.toDoubles()[0] == 2.0;
        } catch (IllegalStateException notNumeric) {
            return false;
        }
    }

    private static boolean isConstant(Value v) {
        return constantTensor(v) != null;
    }

    /** The data of an initializer or of a Constant node's value attribute, else null. */
    static Tensor constantTensor(Value v) {
        if (v == null) {
            return null;
        }
        if (v.isInitializer()) {
            return v.constant();
        }
        Node p = v.producer();
        if (p != null && p.is("Constant")) {
            return p.attribute("value").filter(a -> a.value() instanceof Tensor).map(a -> a.tensorValue()).orElse(null);
        }
        return null;
    }

    /**
     * MatMulInteger -> Cast(to FLOAT) -> Mul(scale): the int32 accumulator may exceed 65504, so the
     * cast and the rescale stay float32, and so does the Mul forming the scale from the
     * DynamicQuantizeLinear scale and the weight scale.
     */
    private void blockIntegerRescale(Node q) {
        for (Node cast : q.output(0).consumers()) {
            if (!cast.is("Cast")) {
                continue;
            }
            block(cast, Reason.QUANTIZED_RESCALE);
            for (Node mul : cast.output(0).consumers()) {
                if (!mul.is("Mul")) {
                    continue;
                }
                block(mul, Reason.QUANTIZED_RESCALE);
                for (Value in : mul.inputs()) {
                    Node p = in == null ? null : in.producer();
                    if (p != null && p.is("Mul") && p.inputs().stream().allMatch(Fp32Nodes::isScale)) {
                        block(p, Reason.QUANTIZED_RESCALE);
                    }
                }
            }
        }
    }

    private static boolean isScale(Value v) {
        return v != null && (isConstant(v) || (v.producer() != null && v.producer().is("DynamicQuantizeLinear")
                && v.producer().output(1) == v));
    }

    private void blockSubgraphs(Node n) {
        for (Graph g : n.subgraphs()) {
            g.forEachNodeRecursive(inner -> block(inner, Reason.INSIDE_FP32_SUBGRAPH));
        }
    }
}
