package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Recognises an attention block from its output projection W_o: back from W_o's input through layout ops to the
 * probs @ V MatMul (or a fused com.microsoft attention op), then along V to the W_v projection.
 */
final class AttentionBlocks {
    private static final String MS = "com.microsoft";
    private static final Set<String> V_PASS = Set.of("Transpose", "Squeeze", "Unsqueeze", "Expand", "Tile", "Identity", "Cast",
            "Flatten");

    /**
     * W_v (restricted to V's rows for packed projections), the head counts and how they were found, the attention
     * probabilities (the way to the query side) and the kv head order.
     */
    record Attention(LinearLayer wv, int nHeads, int nKvHeads, String headsSource, Value probs, boolean kvTiled) {
        Attention(LinearLayer wv, int nHeads, int nKvHeads, String headsSource) {
            this(wv, nHeads, nKvHeads, headsSource, null, false);
        }

        Attention withProbs(Value p) {
            return new Attention(wv, nHeads, nKvHeads, headsSource, p, kvTiled);
        }
    }

    /** One step of a packed-projection selection, as found walking back from V: a feature range of its input. */
    private interface Selection {
        /** The range [from, to) this step keeps of an input of {@code width} features, or null if it does not fit. */
        int[] apply(int width);

        String describe();
    }

    private AttentionBlocks() {
    }

    /**
     * Null when W_o's input does not come from an attention core (then the block may be an MLP); else the
     * attention or the reason it could not be completed.
     */
    static Found<Attention> match(LinearLayer wo) {
        Value u = GraphOps.through(wo.input(), GraphOps.LAYOUT_OPS);
        Node core = u.producer();
        if (core == null) {
            return null;
        }
        if (core.is("MatMul") && !GraphOps.isConstant(core.input(0)) && !GraphOps.isConstant(core.input(1))) {
            return unfused(wo, core, core.input(0), core.input(1)).map(a -> a.withProbs(core.input(0)));
        }
        int vOperand = Einsums.valueOperand(core);
        if (vOperand >= 0) {
            Value probs = core.input(1 - vOperand);
            return unfused(wo, core, probs, core.input(vOperand)).map(a -> a.withProbs(probs));
        }
        if (core.is("Attention") && u == core.output(0)) {
            return onnxAttention(wo, core); // ai.onnx Attention (opset 23): torch's dynamo exporter writes SDPA as it
        }
        if (core.domain().equals(MS) && u == core.output(0)
                && Set.of("MultiHeadAttention", "GroupQueryAttention", "Attention").contains(core.opType())) {
            return fused(wo, core);
        }
        return null;
    }

    private static Found<Attention> unfused(LinearLayer wo, Node core, Value probs, Value value) {
        Found<VPath> path = vPath(value);
        if (!path.ok()) {
            return path.cast();
        }
        LinearLayer wv = path.value().wv();
        int dv = wv.weight().outFeatures();
        int dOut = wo.weight().inFeatures();
        Found<String> dims = checkDims(wv, wo);
        if (!dims.ok()) {
            return dims.cast();
        }
        long[] vShape = path.value().reshape() == null ? null : ShapeValues.tail(path.value().reshape().input(1));
        long headDim = -1;
        String source = null;
        if (vShape != null && vShape.length >= 2) {
            long last = vShape[vShape.length - 1];
            long prev = vShape[vShape.length - 2];
            if (last > 0) {
                headDim = last;
            } else if (prev > 0 && dv % prev == 0) {
                headDim = dv / prev;
            }
            source = "V Reshape '" + path.value().reshape().name() + "' to " + shapeText(vShape);
        }
        long[] qShape = queryReshapeShape(probs);
        long qHeads = qShape != null && qShape.length >= 2 && qShape[qShape.length - 2] > 0 ? qShape[qShape.length - 2] : -1;
        if (headDim > 0) {
            if (dv % headDim != 0 || dOut % headDim != 0) {
                return Found.fail("head size " + headDim + " from " + source + " does not divide W_v's " + dv
                        + " outputs and W_o's " + dOut + " inputs");
            }
            int nKv = (int) (dv / headDim);
            int nHeads = (int) (dOut / headDim);
            if (qHeads > 0 && qHeads != nHeads) {
                return Found.fail("head counts disagree: Q Reshape says " + qHeads + " heads, W_o's " + dOut
                        + " inputs / head size " + headDim + " say " + nHeads);
            }
            if (nHeads % nKv != 0) {
                return Found.fail(nHeads + " query heads are not a multiple of " + nKv + " kv heads");
            }
            String how = source + ": head size " + headDim + ", " + nKv + " kv heads (W_v " + dv + " / " + headDim + "), "
                    + nHeads + " query heads (" + (qHeads > 0 ? "Q Reshape, W_o " : "W_o ") + dOut + " / " + headDim + ")";
            boolean tiled = false;
            if (nKv > 1 && nKv < nHeads) {
                KvOrder order = kvOrder(path.value());
                tiled = order == KvOrder.TILED;
                how += order == KvOrder.UNKNOWN ? "; kv head order not traced, assumed interleaved (h / group)"
                        : tiled ? "; kv heads repeated as a whole (h mod " + nKv + ")" : "; kv heads interleaved (h / group)";
            }
            return Found.of(new Attention(wv, nHeads, nKv, how, null, tiled));
        }
        if (dv == dOut) {
            int h = qHeads > 0 && dOut % qHeads == 0 ? (int) qHeads : 1;
            return Found.of(new Attention(wv, h, h, "no head size in the V path; W_v and W_o have equal width " + dv
                    + " (no grouped-query expansion), so the head count does not change s"));
        }
        return Found.fail("grouped-query attention (W_v has " + dv + " outputs, W_o reads " + dOut
                + ") but no head size found in the V path's Reshape");
    }

    private static Found<Attention> fused(LinearLayer wo, Node core) {
        int nHeads = (int) core.intAttr("num_heads", 0);
        if (nHeads <= 0) {
            return Found.fail(core.opType() + " '" + core.name() + "' has no num_heads attribute");
        }
        int dOut = wo.weight().inFeatures();
        if (dOut % nHeads != 0) {
            return Found.fail("W_o's " + dOut + " inputs are not divisible by num_heads " + nHeads);
        }
        int headDim = dOut / nHeads;
        int nKv = core.is(MS, "GroupQueryAttention") ? (int) core.intAttr("kv_num_heads", nHeads) : nHeads;
        if (nKv <= 0 || nHeads % nKv != 0) {
            return Found.fail(core.opType() + " '" + core.name() + "': num_heads " + nHeads + " is not a multiple of kv heads " + nKv);
        }
        String how = core.opType() + " '" + core.name() + "' attributes: num_heads " + nHeads
                + (core.is(MS, "GroupQueryAttention") ? ", kv_num_heads " + nKv : "");
        LinearLayer wv;
        if (core.is(MS, "Attention")) {
            Found<LinearLayer.StoredWeight> w = LinearLayer.StoredWeight.resolve(core.input(1));
            if (!w.ok()) {
                return Found.fail("Attention '" + core.name() + "': " + w.reason());
            }
            LinearLayer.StoredWeight s = w.value();
            WeightRef packed = WeightRef.whole(s.name(), s.tensor(), s.rows(), s.cols(), s.transposed());
            long[] sizes = core.attribute("qkv_hidden_sizes").map(a -> a.intsValue()).orElse(null);
            int total = packed.totalOutFeatures();
            int q;
            int k;
            int v;
            if (sizes != null && sizes.length == 3) {
                q = (int) sizes[0];
                k = (int) sizes[1];
                v = (int) sizes[2];
            } else if (total % 3 == 0) {
                q = k = v = total / 3;
            } else {
                return Found.fail("Attention '" + core.name() + "': packed weight of " + total + " outputs is not three equal parts");
            }
            if (q + k + v != total) {
                return Found.fail("Attention '" + core.name() + "': qkv_hidden_sizes do not add up to " + total);
            }
            wv = new LinearLayer(core, core.input(0), packed.rows(q + k, q + k + v));
            if (v != dOut) {
                return Found.fail("Attention '" + core.name() + "': V width " + v + " differs from W_o's " + dOut + " inputs");
            }
        } else {
            Value value = core.input(2);
            boolean packedQkv = value == null;
            Found<VPath> path = vPath(packedQkv ? core.input(0) : value);
            if (!path.ok()) {
                return path.cast();
            }
            wv = path.value().wv();
            if (packedQkv) {
                if (!core.is(MS, "GroupQueryAttention")) {
                    return Found.fail(core.opType() + " '" + core.name() + "' with packed QKV in its query input");
                }
                int qw = nHeads * headDim;
                int kvw = nKv * headDim;
                if (wv.weight().outFeatures() != qw + 2 * kvw) {
                    return Found.fail("GroupQueryAttention '" + core.name() + "': packed query input has "
                            + wv.weight().outFeatures() + " features, expected " + (qw + 2 * kvw));
                }
                wv = new LinearLayer(wv.node(), wv.input(), wv.weight().rows(qw + kvw, qw + 2 * kvw));
                how += ", V = rows " + (qw + kvw) + ".." + (qw + 2 * kvw) + " of the packed projection";
            }
            if (wv.weight().outFeatures() != nKv * headDim) {
                return Found.fail(core.opType() + " '" + core.name() + "': W_v has " + wv.weight().outFeatures()
                        + " outputs, expected kv heads " + nKv + " x head size " + headDim);
            }
        }
        Found<String> dims = checkDims(wv, wo);
        if (!dims.ok()) {
            return dims.cast();
        }
        return Found.of(new Attention(wv, nHeads, nKv, how));
    }

    /**
     * The standard Attention op (opset 23; inputs Q, K, V [, mask, past key, past value]): W_v from input 2. Head
     * counts from q_num_heads / kv_num_heads (3-D inputs), else from the V path's head-splitting Reshape (4-D
     * inputs). Grouped kv heads are broadcast as the op defines it: query head h reads kv head h / group.
     */
    private static Found<Attention> onnxAttention(LinearLayer wo, Node core) {
        Found<VPath> path = vPath(core.input(2));
        if (!path.ok()) {
            return path.cast();
        }
        LinearLayer wv = path.value().wv();
        Found<String> dims = checkDims(wv, wo);
        if (!dims.ok()) {
            return dims.cast();
        }
        int dv = wv.weight().outFeatures();
        int dOut = wo.weight().inFeatures();
        long qAttr = core.intAttr("q_num_heads", 0);
        long kvAttr = core.intAttr("kv_num_heads", 0);
        long headDim;
        String how;
        if (qAttr > 0 && kvAttr > 0) {
            headDim = dOut % qAttr == 0 ? dOut / qAttr : -1;
            how = "Attention '" + core.name() + "' attributes: q_num_heads " + qAttr + ", kv_num_heads " + kvAttr;
        } else {
            Node split = path.value().reshape();
            long[] shape = split == null ? null : ShapeValues.tail(split.input(1));
            headDim = shape == null || shape.length < 2 ? -1 : shape[shape.length - 1];
            how = "Attention '" + core.name() + "' (4-D inputs), V Reshape '" + (split == null ? "?" : split.name())
                    + "' to " + (shape == null ? "?" : shapeText(shape));
        }
        if (headDim <= 0 || dv % headDim != 0 || dOut % headDim != 0) {
            if (dv == dOut) {
                return Found.of(new Attention(wv, 1, 1, how + ": no head size, but W_v and W_o have equal width " + dv
                        + " (no grouped-query expansion), so the head count does not change s"));
            }
            return Found.fail(how + ": no head size that divides W_v's " + dv + " outputs and W_o's " + dOut + " inputs");
        }
        int nKv = (int) (dv / headDim);
        int nHeads = (int) (dOut / headDim);
        if (qAttr > 0 && (qAttr != nHeads || kvAttr != nKv) || nHeads % nKv != 0) {
            return Found.fail(how + ": head counts do not fit W_v (" + dv + " outputs) and W_o (" + dOut + " inputs) with head size "
                    + headDim);
        }
        return Found.of(new Attention(wv, nHeads, nKv, how + ": head size " + headDim + ", " + nHeads + " query heads, "
                + nKv + " kv heads" + (nKv < nHeads ? " (h / group, as the op broadcasts them)" : "")));
    }

    private static Found<String> checkDims(LinearLayer wv, LinearLayer wo) {
        if (wv.weight().inFeatures() != wo.weight().outFeatures()) {
            return Found.fail("W_v '" + wv.weight().name() + "' reads " + wv.weight().inFeatures() + " features but W_o '"
                    + wo.weight().name() + "' writes " + wo.weight().outFeatures());
        }
        return Found.of("ok");
    }

    /**
     * W_v reached from the V operand, plus the Reshape closest to it (which splits the heads) and the nodes walked,
     * from the attention core back to the projection.
     */
    private record VPath(LinearLayer wv, Node reshape, List<Node> walked) {
    }

    private enum KvOrder { INTERLEAVED, TILED, UNKNOWN }

    /**
     * How grouped kv heads are repeated for the query heads, replayed forward from the head-splitting Reshape:
     * the kv-head axis is tracked through Transposes and Unsqueezes; a new axis right after it that an Expand or
     * Tile enlarges and a Reshape merges is interleaving (repeat_kv: query head h reads kv head h / group), one
     * right before it, or a Tile of the head axis itself, repeats the kv heads as a whole (h mod n_kv).
     */
    private static KvOrder kvOrder(VPath path) {
        Node split = path.reshape();
        long[] target = split == null ? null : ShapeValues.tail(split.input(1));
        int start = path.walked().indexOf(split);
        if (target == null || target.length < 2 || start < 0) {
            return KvOrder.UNKNOWN;
        }
        int rank = target.length;
        int head = rank - 2;
        int group = -1;
        boolean repeated = false;
        for (int i = start - 1; i >= 0; i--) {
            Node n = path.walked().get(i);
            if (head < 0 && Set.of("Transpose", "Unsqueeze", "Expand", "Tile").contains(n.opType())) {
                return KvOrder.UNKNOWN;
            }
            switch (n.opType()) {
                case "Transpose" -> {
                    long[] perm = n.attribute("perm").map(a -> a.intsValue()).orElse(null);
                    if (perm == null || perm.length != rank) {
                        return KvOrder.UNKNOWN;
                    }
                    head = indexOf(perm, head);
                    group = group < 0 ? -1 : indexOf(perm, group);
                }
                case "Unsqueeze" -> {
                    long[] axes = n.input(1) != null ? GraphOps.constantLongs(n.input(1))
                            : n.attribute("axes").map(a -> a.intsValue()).orElse(null);
                    if (axes == null || axes.length != 1) {
                        return KvOrder.UNKNOWN;
                    }
                    int a = (int) (axes[0] < 0 ? axes[0] + rank + 1 : axes[0]);
                    head += a <= head ? 1 : 0;
                    rank++;
                    group = a;
                }
                case "Expand" -> repeated |= group >= 0;
                case "Tile" -> {
                    long[] reps = GraphOps.constantLongs(n.input(1));
                    if (reps == null || reps.length != rank) {
                        return KvOrder.UNKNOWN;
                    }
                    if (group >= 0 && reps[group] > 1) {
                        repeated = true;
                    } else if (reps[head] > 1) {
                        return KvOrder.TILED;
                    }
                }
                case "Reshape" -> {
                    if (repeated && group == head + 1) {
                        return KvOrder.INTERLEAVED;
                    }
                    if (repeated && group == head - 1) {
                        return KvOrder.TILED;
                    }
                    if (repeated) {
                        return KvOrder.UNKNOWN;
                    }
                    head = -1; // a reshape before any repetition: the head axis is no longer tracked
                }
                default -> {
                    // Cast, Identity, Concat with a cache, bias Adds: the axes stay where they are
                }
            }
        }
        return KvOrder.UNKNOWN;
    }

    private static int indexOf(long[] perm, int axis) {
        for (int i = 0; i < perm.length; i++) {
            if (perm[i] == axis) {
                return i;
            }
        }
        return -1;
    }

    private static Found<VPath> vPath(Value v) {
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
                return select(lin.value(), selections).map(wv -> new VPath(wv, headSplit, walked));
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
                    // between the packed projection and its Split/Slice (Gemm exports reshape [b*s, 3d] back to
                    // [b, s, 3d]): harmless only if it keeps the feature axis as the last one
                    Found<Selection> keep = featureKeepingReshape(p);
                    if (!keep.ok()) {
                        return keep.cast();
                    }
                    selections.push(keep.value());
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
            } else if (standard && op.equals("Split")) {
                Found<Selection> s = splitSelection(p, cur);
                if (!s.ok()) {
                    return s.cast();
                }
                selections.push(s.value());
                cur = p.input(0);
            } else if (standard && op.equals("Slice")) {
                Found<Selection> s = sliceSelection(p);
                if (!s.ok()) {
                    return s.cast();
                }
                selections.push(s.value());
                cur = p.input(0);
            } else if (standard && (op.equals("Gather") || op.equals("GatherND"))) {
                Found<Node> split = groupSplit(p, selections);
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

    /**
     * The rows of a packed projection that one output of a Split / Slice of its output keeps (Phi3's gate_up_proj
     * chunk, a packed qkv split outside attention); fails when {@code out} is not such an output.
     */
    static Found<LinearLayer> packedRows(Node splitOrSlice, Value out) {
        Found<LinearLayer> lin = LinearLayer.of(splitOrSlice.input(0).producer() == null ? splitOrSlice
                : splitOrSlice.input(0).producer());
        if (splitOrSlice.input(0).producer() == null || !lin.ok()) {
            return Found.fail("'" + splitOrSlice.name() + "' does not select from the output of a linear layer");
        }
        Found<Selection> s = splitOrSlice.is("Split") ? splitSelection(splitOrSlice, out) : sliceSelection(splitOrSlice);
        if (!s.ok()) {
            return s.cast();
        }
        Deque<Selection> one = new ArrayDeque<>();
        one.push(s.value());
        return select(lin.value(), one);
    }

    /** Applies the collected selections, innermost (closest to the projection) first. */
    private static Found<LinearLayer> select(LinearLayer lin, Deque<Selection> selections) {
        WeightRef w = lin.weight();
        for (Selection s : selections) { // push() put the innermost first
            int[] r = s.apply(w.outFeatures());
            if (r == null) {
                return Found.fail(s.describe() + " does not fit the " + w.outFeatures() + " outputs of '" + w.name() + "'");
            }
            w = w.rows(r[0], r[1]);
        }
        return Found.of(new LinearLayer(lin.node(), lin.input(), w));
    }

    /** A Reshape whose target ends in the full feature width, checked once the projection's width is known. */
    private static Found<Selection> featureKeepingReshape(Node reshape) {
        long[] shape = ShapeValues.tail(reshape.input(1));
        long last = shape == null || shape.length == 0 ? -1 : shape[shape.length - 1];
        if (last <= 0) {
            return Found.fail("Reshape '" + reshape.name() + "' between the packed projection and its Split/Slice"
                    + " has no constant last dimension");
        }
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                return width == last ? new int[] {0, width} : null;
            }

            @Override
            public String describe() {
                return "Reshape '" + reshape.name() + "' to last dimension " + last;
            }
        });
    }

    /**
     * V picked as one group of a packed projection viewed as [.., groups, head_dim] (Falcon's multi-query
     * query_key_value: view [.., heads + 2, head_dim], V = [..., [-1], :]): a Gather on the group axis (or a GatherND
     * of one index on axis 0 after Transposes that bring the group axis there) selects rows [g * head_dim,
     * (g + 1) * head_dim) of the projection. Pushes that selection and returns the Reshape it consumed.
     */
    private static Found<Node> groupSplit(Node gather, Deque<Selection> selections) {
        long[] idx = GraphOps.constantLongs(gather.input(1));
        boolean nd = gather.opType().equals("GatherND");
        if (idx == null || idx.length != 1 || nd && gather.intAttr("batch_dims", 0) != 0) {
            return Found.fail(gather.opType() + " '" + gather.name() + "' on the V path does not pick one constant index");
        }
        int axis = nd ? 0 : (int) gather.intAttr("axis", 0);
        Value cur = gather.input(0);
        for (int guard = 0; guard < 8 && cur.producer() != null && cur.producer().is("Transpose"); guard++) {
            long[] perm = cur.producer().attribute("perm").map(a -> a.intsValue()).orElse(null);
            if (perm == null || axis < 0 || axis >= perm.length) {
                return Found.fail("Transpose '" + cur.producer().name() + "' before " + gather.opType() + " '" + gather.name()
                        + "' has no usable perm");
            }
            axis = (int) perm[axis];
            cur = cur.producer().input(0);
        }
        Node reshape = cur.producer();
        long[] target = reshape == null || !reshape.is("Reshape") ? null : ShapeValues.tail(reshape.input(1));
        if (target == null || target.length < 2) {
            return Found.fail(gather.opType() + " '" + gather.name() + "' on the V path does not select from a Reshape of a"
                    + " projection into [.., groups, head_dim]");
        }
        int rank = target.length;
        axis = axis < 0 ? axis + rank : axis;
        long headDim = target[rank - 1];
        long groups = target[rank - 2];
        if (axis != rank - 2 || headDim <= 0) {
            return Found.fail(gather.opType() + " '" + gather.name() + "' selects axis " + axis + " of Reshape '" + reshape.name()
                    + "' to " + shapeText(target) + ", not its group axis before a constant head_dim");
        }
        long g = idx[0];
        selections.push(new Selection() {
            @Override
            public int[] apply(int width) {
                if (width % headDim != 0 || groups > 0 && groups * headDim != width) {
                    return null;
                }
                long n = width / headDim;
                long at = g < 0 ? g + n : g;
                return at < 0 || at >= n ? null : new int[] {(int) (at * headDim), (int) ((at + 1) * headDim)};
            }

            @Override
            public String describe() {
                return gather.opType() + " '" + gather.name() + "' group " + g + " of Reshape '" + reshape.name() + "' to "
                        + shapeText(target);
            }
        });
        return Found.of(reshape);
    }

    private static Found<Selection> splitSelection(Node split, Value out) {
        int index = split.outputs().indexOf(out);
        long axis = split.intAttr("axis", 0);
        int rank = GraphOps.inferredRank(split.input(0));
        long[] sizes = split.input(1) != null ? GraphOps.constantLongs(split.input(1))
                : split.attribute("split").map(a -> a.intsValue()).orElse(null);
        if (split.input(1) != null && sizes == null) {
            return Found.fail("Split '" + split.name() + "' has computed split sizes");
        }
        boolean lastAxis = axis == -1 || (rank > 0 && axis == rank - 1);
        if (!lastAxis && (rank > 0 || sizes == null)) {
            return Found.fail("Split '" + split.name() + "' splits axis " + axis + (rank > 0 ? " of rank " + rank
                    + ", not the feature axis" : " into equal parts of a tensor of unknown rank; cannot confirm it is the feature axis"));
        }
        int parts = split.outputs().size();
        final long[] fixed = sizes;
        final boolean checkSum = !lastAxis; // unknown rank: only accept when the sizes add up to the feature width
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                long[] s = fixed;
                if (s == null) {
                    if (width % parts != 0) {
                        return null;
                    }
                    s = new long[parts];
                    Arrays.fill(s, width / parts);
                }
                long total = Arrays.stream(s).sum();
                if (s.length != parts || (checkSum || fixed != null) && total != width) {
                    return null;
                }
                long from = 0;
                for (int i = 0; i < index; i++) {
                    from += s[i];
                }
                return new int[] {(int) from, (int) (from + s[index])};
            }

            @Override
            public String describe() {
                return "Split '" + split.name() + "' output " + index;
            }
        });
    }

    private static Found<Selection> sliceSelection(Node slice) {
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (slice.inputs().size() >= 3) {
            starts = GraphOps.constantLongs(slice.input(1));
            ends = GraphOps.constantLongs(slice.input(2));
            axes = slice.input(3) == null ? null : GraphOps.constantLongs(slice.input(3));
            if (slice.input(4) != null) {
                steps = GraphOps.constantLongs(slice.input(4));
                if (steps == null) {
                    return Found.fail("Slice '" + slice.name() + "' has computed steps");
                }
            }
            if (starts == null || ends == null || slice.input(3) != null && axes == null) {
                return Found.fail("Slice '" + slice.name() + "' has computed bounds");
            }
        } else {
            starts = slice.attribute("starts").map(a -> a.intsValue()).orElse(null);
            ends = slice.attribute("ends").map(a -> a.intsValue()).orElse(null);
            axes = slice.attribute("axes").map(a -> a.intsValue()).orElse(null);
            if (starts == null || ends == null) {
                return Found.fail("Slice '" + slice.name() + "' has no starts / ends");
            }
        }
        if (starts.length != 1 || ends.length != 1 || steps != null && (steps.length != 1 || steps[0] != 1)) {
            return Found.fail("Slice '" + slice.name() + "' is not a unit-step slice of one axis");
        }
        long axis = axes == null ? 0 : axes[0];
        int rank = GraphOps.inferredRank(slice.input(0));
        if (!(axis == -1 || rank > 0 && axis == rank - 1)) {
            return Found.fail("Slice '" + slice.name() + "' slices axis " + axis + (rank > 0 ? " of rank " + rank
                    : " of a tensor of unknown rank") + ", not known to be the feature axis");
        }
        long start = starts[0];
        long end = ends[0];
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                long s = start < 0 ? start + width : start;
                long e = end < 0 ? end + width : end;
                s = Math.max(0, Math.min(width, s));
                e = Math.max(0, Math.min(width, e));
                return e > s ? new int[] {(int) s, (int) e} : null;
            }

            @Override
            public String describe() {
                return "Slice '" + slice.name() + "' [" + start + ", " + end + ")";
            }
        });
    }

    /**
     * The target shape of the Reshape that splits Q into heads, found from the probabilities operand back through
     * Softmax, the mask and the 1/sqrt(d) scaling to the Q @ K^T MatMul; null when the path is not that simple
     * (rotary embeddings, for instance), in which case the head count comes from W_o alone.
     */
    private static long[] queryReshapeShape(Value probs) {
        Value q = queryOperand(probs);
        for (int guard = 0; q != null && guard < 8; guard++) {
            Node p = q.producer();
            if (p == null) {
                return null;
            }
            if (p.is("Reshape")) {
                return ShapeValues.tail(p.input(1));
            }
            if (p.is("Transpose") || p.is("Cast") || p.is("Identity")) {
                q = p.input(0);
            } else if ((p.is("Mul") || p.is("Div")) && GraphOps.nonConstantOperand(p) != null) {
                q = GraphOps.nonConstantOperand(p);
            } else {
                return null;
            }
        }
        return null;
    }

    /**
     * The Q operand of the Q @ K^T product (MatMul or Einsum) found from the probabilities back through Softmax,
     * the mask, a position bias and the 1/sqrt(d) scaling; null when the path is not that simple.
     */
    private static Value queryOperand(Value probs) {
        if (probs == null) {
            return null;
        }
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Value> frontier = new ArrayList<>(List.of(probs));
        for (int depth = 0; depth < 8 && !frontier.isEmpty(); depth++) {
            List<Value> next = new ArrayList<>();
            for (Value v : frontier) {
                Node p = v.producer();
                if (p == null || !seen.add(p)) {
                    continue;
                }
                if (p.is("MatMul") && !GraphOps.isConstant(p.input(0)) && !GraphOps.isConstant(p.input(1))) {
                    return p.input(0);
                }
                int q = Einsums.queryOperand(p);
                if (q >= 0) {
                    return p.input(q);
                }
                if (Set.of("Softmax", "Cast", "Add", "Sub", "Div", "Mul", "Where").contains(p.opType())) {
                    for (Value in : p.inputs()) {
                        if (in != null && !GraphOps.isConstant(in)) {
                            next.add(in);
                        }
                    }
                }
            }
            frontier = next;
        }
        return null;
    }

    /** Ops a query may pass between its projection and Q @ K^T: layout, scaling, rotary embedding arithmetic. */
    private static final Set<String> QUERY_PASS = Set.of("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten",
            "Identity", "Cast", "Mul", "Div", "Add", "Sub", "Neg", "Slice", "Split", "Concat", "Gather", "Expand", "Where",
            "Cos", "Sin");

    /**
     * The projection W_q of an attention block, from its probabilities: the one linear layer the Q operand is
     * computed from, through layout ops, scaling and rotary embeddings (whose cos / sin tables lead to graph inputs
     * or constants, not to a linear layer); null when there is not exactly one.
     */
    static LinearLayer queryProjection(Value probs) {
        Value q = queryOperand(probs);
        if (q == null) {
            return null;
        }
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Value> todo = new ArrayDeque<>(List.of(q));
        LinearLayer found = null;
        while (!todo.isEmpty() && seen.size() < 96) {
            Node p = todo.pop().producer();
            if (p == null || !seen.add(p)) {
                continue;
            }
            Found<LinearLayer> lin = LinearLayer.of(p);
            if (lin.ok()) {
                if (found != null && found.node() != p) {
                    return null;
                }
                found = lin.value();
                continue;
            }
            if (!(p.domain().isEmpty() || p.domain().equals("ai.onnx")) || !QUERY_PASS.contains(p.opType())) {
                continue; // a product of activations (rotary frequencies), a Softmax: not the query's way
            }
            for (Value in : p.inputs()) {
                if (in != null && !GraphOps.isConstant(in)) {
                    todo.add(in);
                }
            }
        }
        return found;
    }

    private static String shapeText(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(shape[i] == ShapeValues.UNKNOWN ? "?" : Long.toString(shape[i]));
        }
        return sb.append(']').toString();
    }
}
