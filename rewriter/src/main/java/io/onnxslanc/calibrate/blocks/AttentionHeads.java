package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.blocks.AttentionBlocks.Attention;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.Set;

/**
 * Head inference for an unfused attention: the head size from the Reshape that splits V into heads, the query
 * head count from the one that splits Q, and the order in which grouped kv heads are repeated for the query heads.
 */
final class AttentionHeads {
    private enum KvOrder { INTERLEAVED, TILED, UNKNOWN }

    private AttentionHeads() {
    }

    /**
     * The head counts of an unfused attention from its Reshapes: the head size from the V path's head-splitting
     * Reshape (or W_v and W_o of equal width), the query heads checked against the Q Reshape, the kv head order
     * replayed along the V path. W_v is the path's projection, already checked against W_o.
     */
    static Found<Attention> fromReshapes(LinearLayer wo, ValuePath path, Value probs) {
        LinearLayer wv = path.wv();
        int dv = wv.weight().outFeatures();
        int dOut = wo.weight().inFeatures();
        long[] vShape = path.reshape() == null ? null : ShapeValues.tail(path.reshape().input(1));
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
            source = "V Reshape '" + path.reshape().name() + "' to " + ShapeValues.text(vShape);
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
                KvOrder order = kvOrder(path);
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

    /**
     * How grouped kv heads are repeated for the query heads, replayed forward from the head-splitting Reshape:
     * the kv-head axis is tracked through Transposes and Unsqueezes; a new axis right after it that an Expand or
     * Tile enlarges and a Reshape merges is interleaving (repeat_kv: query head h reads kv head h / group), one
     * right before it, or a Tile of the head axis itself, repeats the kv heads as a whole (h mod n_kv).
     */
    private static KvOrder kvOrder(ValuePath path) {
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

    /**
     * The target shape of the Reshape that splits Q into heads, found from the probabilities operand back through
     * Softmax, the mask and the 1/sqrt(d) scaling to the Q @ K^T MatMul; null when the path is not that simple
     * (rotary embeddings, for instance), in which case the head count comes from W_o alone.
     */
    private static long[] queryReshapeShape(Value probs) {
        Value q = UnfusedAttention.queryOperand(probs);
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
}
