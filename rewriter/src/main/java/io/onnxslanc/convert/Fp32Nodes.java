package io.onnxslanc.convert;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import io.onnxslanc.match.NormMatcher;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Decides which nodes keep computing in float32 (the converter casts around them), and why. */
final class Fp32Nodes {

    /** Why a node stays float32; reported. */
    enum Reason {
        NODE_BLOCK_LIST, OP_BLOCK_LIST, NORM, FLOAT32_ONLY_OP, QUANTIZED_RESCALE, INSIDE_FP32_SUBGRAPH, INDEX_ARITHMETIC
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
        if (options.normsFp32()) {
            // every node of every recognised norm (fused, or decomposed with its gain and bias)
            NormMatcher.findAll(main).forEach(site -> site.nodes().forEach(n -> d.block(n, Reason.NORM)));
        }
        for (Node n : all) {
            if (OpRules.isDefaultDomain(n) && OpRules.INTEGER_MATMULS.contains(n.opType())) {
                d.blockIntegerRescale(n);
            }
        }
        for (Node n : all) {
            d.blockIndexArithmetic(n);
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

    /** Float ops an integer computation is written with (T5: bucket = max_exact + log(d / max_exact) / ... * n). */
    private static final Set<String> INDEX_OPS = Set.of("Add", "Sub", "Mul", "Div", "Log", "Exp", "Pow", "Sqrt", "Abs",
            "Neg", "Floor", "Ceil", "Round", "Min", "Max", "Reciprocal", "Identity");
    private static final int MAX_INDEX_REGION = 32;

    /**
     * Float arithmetic between Casts to float and a Cast back to an integer type, whose values nothing else reads, is
     * index arithmetic (T5's relative-position buckets take the log of a distance and truncate it to a bucket id):
     * computed in FP16 it can land on another integer, so it stays float32. {@code exit} is the candidate final Cast.
     */
    private void blockIndexArithmetic(Node exit) {
        if (!exit.is("Cast") || !DataType.isKnownCode((int) exit.intAttr("to", 0))
                || DataType.fromCode((int) exit.intAttr("to", 0)).isFloatingPoint()
                || DataType.fromCode((int) exit.intAttr("to", 0)) == DataType.BOOL || exit.input(0) == null) {
            return;
        }
        Set<Node> region = new LinkedHashSet<>();
        Deque<Value> todo = new ArrayDeque<>(List.of(exit.input(0)));
        boolean entered = false;
        while (!todo.isEmpty()) {
            Value v = todo.pop();
            if (Constants.tensor(v) != null) {
                continue;
            }
            Node p = v.producer();
            if (p == null || !OpRules.isDefaultDomain(p) || region.size() >= MAX_INDEX_REGION) {
                return; // a graph input or a foreign op: not provably integer-derived
            }
            if (!region.add(p)) {
                continue;
            }
            if (p.is("Cast")) {
                int to = (int) p.intAttr("to", 0);
                if (!DataType.isKnownCode(to) || !DataType.fromCode(to).isFloatingPoint()) {
                    return;
                }
                entered = true; // the entry: whatever it reads is converted to float here
                continue;
            }
            if (!INDEX_OPS.contains(p.opType())) {
                return;
            }
            for (Value in : p.inputs()) {
                if (in != null) {
                    todo.add(in);
                }
            }
        }
        if (!entered) {
            return;
        }
        for (Node n : region) {
            for (Value out : n.outputs()) {
                if (out.isGraphOutput() || out.consumers().stream().anyMatch(c -> c != exit && !region.contains(c))) {
                    return; // the float values are used as floats elsewhere: not index arithmetic alone
                }
            }
        }
        region.forEach(n -> block(n, Reason.INDEX_ARITHMETIC));
        block(exit, Reason.INDEX_ARITHMETIC);
    }

    private static boolean isScale(Value v) {
        return v != null && (Constants.tensor(v) != null || (v.producer() != null && v.producer().is("DynamicQuantizeLinear")
                && v.producer().output(1) == v));
    }

    private void blockSubgraphs(Node n) {
        for (Graph g : n.subgraphs()) {
            g.forEachNodeRecursive(inner -> block(inner, Reason.INSIDE_FP32_SUBGRAPH));
        }
    }
}
