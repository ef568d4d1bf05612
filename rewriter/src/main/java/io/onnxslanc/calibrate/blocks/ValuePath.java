package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.blocks.PackedProjections.Selection;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * W_v reached from the V operand, plus the Reshape closest to it (which splits the heads) and the nodes walked,
 * from the attention core back to the projection.
 *
 * <p>Found by {@link #of}: along V back through layout ops, a bias Add, the kv cache Concat, activation Q/DQ pairs
 * and the Split / Slice / Gather of a packed projection ({@link PackedProjections}).
 */
record ValuePath(LinearLayer wv, Node reshape, List<Node> walked) {
    private static final Set<String> V_PASS = Set.of("Transpose", "Squeeze", "Unsqueeze", "Expand", "Tile", "Identity", "Cast",
            "Flatten");

    /** The path from the V operand {@code v} back to W_v; fails with the reason at an op that does not pass V. */
    static Found<ValuePath> of(Value v) {
        Deque<Selection> selections = new ArrayDeque<>(); // walking back: the last pushed is closest to the projection
        Node reshape = null;
        List<Node> walked = new ArrayList<>();
        Value cur = v;
        for (int guard = 0; guard < 48; guard++) {
            Node p = cur.producer();
            if (p == null) {
                return Found.fail("the V operand traces back to " + GraphOps.describe(cur) + " without a W_v projection");
            }
            Found<LinearLayer> lin = LinearLayer.of(p);
            if (lin.ok()) {
                Node headSplit = reshape;
                return PackedProjections.select(lin.value(), selections).map(wv -> new ValuePath(wv, headSplit, walked));
            }
            Value fakeQuantized = io.onnxslanc.ir.Walk.fakeQuantized(p);
            if (fakeQuantized != null) { // an activation Q/DQ pair (QDQ models) keeps V up to rounding
                cur = fakeQuantized;
                continue;
            }
            walked.add(p);
            boolean standard = p.isDefaultDomain();
            String op = p.opType();
            if (standard && V_PASS.contains(op)) {
                cur = p.input(0);
            } else if (standard && op.equals("Reshape")) {
                if (!selections.isEmpty()) {
                    // between the packed projection and its Split/Slice: the steps so far cut its last axis, in
                    // every group of that size (one group when it keeps the whole feature axis)
                    Found<Selection> grouped = PackedProjections.groupedReshape(p, selections);
                    if (!grouped.ok()) {
                        return grouped.cast();
                    }
                    selections.clear();
                    selections.push(grouped.value());
                } else {
                    reshape = p;
                }
                cur = p.input(0);
            } else if (standard && op.equals("Add") && GraphOps.nonConstantOperand(p) != null) {
                cur = GraphOps.nonConstantOperand(p);
            } else if (standard && op.equals("Concat")) {
                Value computed = null;
                for (Value in : p.inputs()) {
                    if (in == null || GraphOps.isConstant(in)
                            || GraphOps.through(in, GraphOps.LAYOUT_OPS).producer() == null) {
                        continue; // constants and the past key/value cache (a graph input)
                    }
                    if (computed != null) {
                        return Found.fail("Concat '" + p.name() + "' on the V path has several computed operands");
                    }
                    computed = in;
                }
                if (computed == null) {
                    return Found.fail("Concat '" + p.name() + "' on the V path has no computed operand");
                }
                cur = computed;
            } else if (standard && (op.equals("Split") || op.equals("Slice"))) {
                Found<Selection> s = op.equals("Split") ? PackedProjections.splitSelection(p, cur)
                        : PackedProjections.sliceSelection(p);
                if (s.ok()) {
                    selections.push(s.value());
                    cur = p.input(0);
                    continue;
                }
                Found<Node> split = PackedProjections.featureAxisSelection(p, cur, selections);
                if (!split.ok()) {
                    return Found.fail(s.reason() + "; " + split.reason());
                }
                if (reshape == null) {
                    reshape = split.value(); // its last dim is the head size
                }
                cur = split.value().input(0); // the Reshape that cut the features is consumed by the selection
            } else if (standard && (op.equals("Gather") || op.equals("GatherND"))) {
                Found<Node> split = PackedProjections.groupSplit(p, selections);
                if (!split.ok()) {
                    return split.cast();
                }
                if (reshape == null) {
                    reshape = split.value(); // its last dim is the head size
                }
                cur = split.value().input(0); // the Reshape into [.., groups, head_dim] is consumed by the selection
            } else {
                return Found.fail("the V path reaches " + GraphOps.describe(cur) + " ('" + p.name() + "') before any W_v projection");
            }
        }
        return Found.fail("the V path is too long");
    }
}
