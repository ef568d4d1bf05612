package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.blocks.AttentionBlocks.Attention;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;

/**
 * An attention computed by one op: com.microsoft Attention (packed QKV weight as its input), MultiHeadAttention and
 * GroupQueryAttention (head counts from their attributes, W_v from the V input or the packed query input), and the
 * standard ONNX Attention op (opset 23).
 */
final class FusedAttention {
    private static final String MS = "com.microsoft";

    private FusedAttention() {
    }

    /**
     * com.microsoft Attention (W_v = the V rows of its packed weight), MultiHeadAttention and GroupQueryAttention
     * (W_v along the V input, or the V rows of a packed query input): head counts from num_heads / kv_num_heads.
     */
    static Found<Attention> fused(LinearLayer wo, Node core) {
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
            Found<ValuePath> path = ValuePath.of(packedQkv ? core.input(0) : value);
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
        Found<String> dims = AttentionBlocks.checkDims(wv, wo);
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
    static Found<Attention> onnxAttention(LinearLayer wo, Node core) {
        Found<ValuePath> path = ValuePath.of(core.input(2));
        if (!path.ok()) {
            return path.cast();
        }
        LinearLayer wv = path.value().wv();
        Found<String> dims = AttentionBlocks.checkDims(wv, wo);
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
                    + "' to " + (shape == null ? "?" : ShapeValues.text(shape));
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
}
