package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormSite;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the norms of a model are, and which norms lie upstream or downstream of which, across subgraphs: a body
 * reads the outputs of the outer nodes in front of its owner directly, so reachability follows values from the main
 * graph into If branches and Loop / Scan bodies.
 */
final class NormIndex {
    /** A norm feeding a linear layer, with the gain that applies to its output. */
    record Feed(NormSite site, Value gamma) {
    }

    private final Map<Node, NormSite> normOfNode = new IdentityHashMap<>();
    private final Map<Value, NormSite> normOfOutput = new IdentityHashMap<>();
    private final Set<Node> belowNorm = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Node> aboveNorm = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Graph> holdingNorms = Collections.newSetFromMap(new IdentityHashMap<>());

    /** {@code graph}: the main graph (sites may lie in any of its subgraphs). */
    NormIndex(Graph graph, List<NormSite> sites) {
        for (NormSite s : sites) {
            for (Node n : s.nodes()) {
                normOfNode.put(n, s);
            }
            normOfOutput.put(s.output(), s);
            for (Graph g = s.root().graph(); g != null; g = g.parent()) {
                holdingNorms.add(g);
            }
        }
        markBelow(graph);
        markAbove(graph);
    }

    /**
     * Nodes with a norm upstream. Graphs keep topological order, so one forward pass settles it; a body is passed
     * when its owner is reached, after every outer node it can read.
     */
    private void markBelow(Graph graph) {
        for (Node n : graph.nodes()) {
            boolean normsInside = false;
            for (Graph sub : n.subgraphs()) {
                markBelow(sub);
                normsInside |= holdingNorms.contains(sub);
            }
            if (normsInside) {
                belowNorm.add(n); // an If / Loop with norms inside: what it returns has passed through norms
                continue;
            }
            for (Value v : n.inputs()) {
                Node p = v == null ? null : v.producer();
                if (p != null && (normOfNode.containsKey(p) || belowNorm.contains(p))) {
                    belowNorm.add(n);
                    break;
                }
            }
        }
    }

    /**
     * Nodes with a norm downstream, by one backward pass; a body is passed when its owner is reached, before the
     * outer nodes in front of the owner, whose outputs its nodes may read.
     */
    private void markAbove(Graph graph) {
        // a Loop / Scan body's outputs come back as its inputs in the next iteration, in front of its norms
        boolean outputsLoopBack = graph.parent() != null && !graph.inputs().isEmpty() && holdingNorms.contains(graph);
        List<Node> nodes = graph.nodes();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            n.subgraphs().forEach(this::markAbove);
            outer:
            for (Value o : n.outputs()) {
                if (outputsLoopBack && o.isGraphOutput()) {
                    aboveNorm.add(n);
                    break;
                }
                for (Node c : o.consumers()) {
                    if (normOfNode.containsKey(c) || aboveNorm.contains(c)) {
                        aboveNorm.add(n);
                        break outer;
                    }
                }
            }
        }
    }

    /** No other norm upstream of the norm's input (and skip). */
    boolean isFirst(NormSite site) {
        for (Value v : new Value[] {site.input(), site.skip()}) {
            Node p = v == null ? null : v.producer();
            if (p != null && (normOfNode.containsKey(p) || belowNorm.contains(p))) {
                return false;
            }
        }
        return true;
    }

    /** No other norm downstream of anything the norm computes. */
    boolean isLast(NormSite site) {
        Set<Node> own = Collections.newSetFromMap(new IdentityHashMap<>());
        own.addAll(site.nodes());
        for (Node n : site.nodes()) {
            for (Value o : n.outputs()) {
                for (Node c : o.consumers()) {
                    if (!own.contains(c) && (normOfNode.containsKey(c) || aboveNorm.contains(c))) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    /**
     * The norm whose output reaches {@code linearInput} through layout ops, Casts and the gain / bias of a norm that
     * keeps them outside (Mul / Add by a constant); its gain becomes Gamma_prev / Gamma_post.
     */
    Found<Feed> feeding(Value linearInput, String role) {
        Value cur = linearInput;
        Value outsideGain = null;
        for (int guard = 0; guard < 32; guard++) {
            NormSite s = normOfOutput.get(cur);
            if (s != null) {
                if (s.gamma() != null && outsideGain != null) {
                    return Found.fail(role + " reads norm '" + NormNames.of(s) + "' through a further Mul by constant '"
                            + outsideGain.name() + "'");
                }
                Value gamma = s.gamma() != null ? s.gamma() : outsideGain;
                if (gamma != null && !gainFits(gamma, s.hiddenSize())) {
                    return Found.fail("gain '" + gamma.name() + "' of norm '" + NormNames.of(s) + "' is not a vector of length "
                            + s.hiddenSize());
                }
                return Found.of(new Feed(s, gamma));
            }
            Node p = cur.producer();
            if (p == null) {
                break;
            }
            if (p.isOneOf(GraphOps.LAYOUT_OPS)) {
                cur = p.input(0);
            } else if (io.onnxslanc.ir.Walk.fakeQuantized(p) != null) { // an activation Q/DQ pair (QDQ models)
                cur = io.onnxslanc.ir.Walk.fakeQuantized(p);
            } else if (p.is("Mul") && GraphOps.nonConstantOperand(p) != null && outsideGain == null) {
                outsideGain = GraphOps.constantOperand(p);
                cur = GraphOps.nonConstantOperand(p);
            } else if (GraphOps.isBiasAdd(p)) {
                cur = GraphOps.nonConstantOperand(p);
            } else if (p.is("Mul") && p.isDefaultDomain() && maskOperand(p) >= 0) {
                cur = p.input(1 - maskOperand(p)); // DeBERTa: embeddings * attention_mask zero padded rows only
            } else {
                break;
            }
        }
        return Found.fail("the input of " + role + " is " + GraphOps.describe(linearInput)
                + ", not the output of a recognised norm");
    }

    private static boolean gainFits(Value gamma, long d) {
        Tensor t = io.onnxslanc.canon.ConstantFolder.value(gamma);
        if (t == null) {
            return false;
        }
        long n = t.elementCount();
        return n == 1 || d < 0 || n == d;
    }

    private static final java.util.Set<String> MASK_PATH = java.util.Set.of("Cast", "Unsqueeze", "Reshape", "Expand",
            "Identity");

    /**
     * The operand of a Mul that is a mask: an integer or boolean graph input (attention_mask) only cast and
     * reshaped, so the product keeps or zeroes whole rows and never enlarges a norm's output; -1 when neither is.
     */
    static int maskOperand(Node mul) {
        for (int i = 0; i < 2; i++) {
            Value v = mul.input(i);
            for (int guard = 0; guard < 8 && v != null && v.producer() != null && mul.inputs().size() == 2; guard++) {
                Node q = v.producer();
                if (!q.isDefaultDomain() || !q.isOneOf(MASK_PATH)) {
                    v = null;
                    break;
                }
                v = q.input(0);
            }
            if (v != null && v.producer() == null && v.graph() != null && v.graph().inputs().contains(v)
                    && v.type() != null && isIntegerOrBool(v.type().elemType())) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isIntegerOrBool(io.onnxslanc.ir.DataType t) {
        return t != null && switch (t) {
            case BOOL, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 -> true;
            default -> false;
        };
    }
}
