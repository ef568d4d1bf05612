package io.onnxslanc.calibrate;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormSite;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Identifies, for each norm, the block in front of it and the weights its SLaNC formula reads.
 *
 * <p>From the norm's input back through the residual Add (or the two operands of a Skip* norm) to the branch:
 * a linear layer W_o / W_down / W_2 (bias Adds, Casts and Reshapes allowed after it), then the attention core or
 * the MLP activation in front of that, then the first linear layer(s) of the block and the norm feeding them.
 * A norm with no norm upstream is the first (s = 1); a norm with no norm downstream is the final norm and takes
 * the factor of the block in front of it. Anything else is reported UNKNOWN with the reason; nothing is guessed.
 */
public final class BlockFinder {
    private final Graph graph;
    private final NormIndex index;

    private BlockFinder(Graph graph, List<NormSite> sites) {
        this.graph = graph;
        this.index = new NormIndex(graph, sites);
    }

    /** One block per site, in the order of {@code sites}. The graph must be in topological order. */
    public static List<NormBlock> findAll(Graph graph, List<NormSite> sites) {
        BlockFinder f = new BlockFinder(graph, sites);
        List<NormBlock> out = new ArrayList<>(sites.size());
        for (NormSite s : sites) {
            out.add(f.find(s));
        }
        return out;
    }

    private NormBlock find(NormSite site) {
        if (site.root().graph() != graph) {
            return NormBlock.unknown(site, "inside a subgraph (If / Loop / Scan body), which SLaNC does not calibrate");
        }
        if (index.isFirst(site)) {
            return NormBlock.first(site);
        }
        Found<NormBlock> front = front(site);
        if (!front.ok()) {
            return NormBlock.unknown(site, front.reason());
        }
        return index.isLast(site) ? front.value().asFinal() : front.value();
    }

    /** The block on the branch side of the residual connection in front of the norm. */
    private Found<NormBlock> front(NormSite site) {
        List<Value> candidates;
        String where;
        if (site.kind().hasSkipInput()) {
            candidates = List.of(site.input(), site.skip());
            where = "inputs " + GraphOps.describe(site.input()) + " and " + GraphOps.describe(site.skip());
        } else {
            Value x = GraphOps.through(site.input(), io.onnxslanc.ir.Walk.CAST_LIKE);
            Node p = x.producer();
            if (p == null || !p.is("Add") || GraphOps.isConstant(p.input(0)) || GraphOps.isConstant(p.input(1))) {
                return Found.fail("input is " + GraphOps.describe(x) + ", not a residual Add x + block(x)");
            }
            candidates = List.of(p.input(0), p.input(1));
            where = "input is Add(" + GraphOps.describe(p.input(0)) + ", " + GraphOps.describe(p.input(1)) + ")";
        }
        List<NormBlock> recognised = new ArrayList<>();
        String firstFailure = null;
        for (Value c : candidates) {
            Found<LinearLayer> out = LinearLayer.of(GraphOps.throughLayoutAndBias(c).producer());
            if (!out.ok()) {
                continue;
            }
            Found<NormBlock> block = classify(site, out.value());
            if (block.ok()) {
                recognised.add(block.value());
            } else if (firstFailure == null) {
                firstFailure = block.reason();
            }
        }
        if (recognised.size() == 1) {
            return Found.of(recognised.get(0));
        }
        if (recognised.size() > 1) {
            return Found.fail(where + ": both operands end in a recognised block; cannot tell the branch from the residual");
        }
        if (firstFailure != null) {
            return Found.fail(where + ": " + firstFailure);
        }
        return Found.fail(where + " with no MatMul weight found");
    }

    private Found<NormBlock> classify(NormSite site, LinearLayer last) {
        long d = site.hiddenSize();
        if (d > 0 && last.weight().outFeatures() != d) {
            return Found.fail("'" + last.node().name() + "' writes " + last.weight().outFeatures() + " features, the norm has " + d);
        }
        Found<AttentionBlocks.Attention> att = AttentionBlocks.match(last);
        if (att != null) {
            if (!att.ok()) {
                return att.cast();
            }
            AttentionBlocks.Attention a = att.value();
            Found<NormIndex.Feed> feed = index.feeding(a.wv().input(), "W_v '" + a.wv().weight().name() + "'");
            if (!feed.ok()) {
                return feed.cast();
            }
            Map<WeightRole, WeightRef> w = new LinkedHashMap<>();
            w.put(WeightRole.V, a.wv().weight());
            w.put(WeightRole.O, last.weight());
            return Found.of(new NormBlock(site, BlockKind.ATTENTION, BlockKind.ATTENTION, feed.value().site(),
                    feed.value().gamma(), w, a.nHeads(), a.nKvHeads(), a.headsSource(), null));
        }
        Found<MlpBlocks.Mlp> mlp = MlpBlocks.match(last);
        if (!mlp.ok()) {
            return mlp.cast();
        }
        MlpBlocks.Mlp m = mlp.value();
        Map<WeightRole, WeightRef> w = new LinkedHashMap<>();
        if (m.gated()) {
            Found<NormIndex.Feed> gateFeed = index.feeding(m.gate().input(), "W_gate '" + m.gate().weight().name() + "'");
            Found<NormIndex.Feed> upFeed = index.feeding(m.up().input(), "W_up '" + m.up().weight().name() + "'");
            if (!gateFeed.ok() || !upFeed.ok()) {
                return (gateFeed.ok() ? upFeed : gateFeed).cast();
            }
            if (!gateFeed.value().equals(upFeed.value())) {
                return Found.fail("W_gate and W_up read different norms ('" + NormNames.of(gateFeed.value().site()) + "', '"
                        + NormNames.of(upFeed.value().site()) + "')");
            }
            WeightRef gate = m.gate().weight();
            WeightRef up = m.up().weight();
            WeightRef down = last.weight();
            if (gate.outFeatures() != up.outFeatures() || gate.inFeatures() != up.inFeatures()
                    || down.inFeatures() != up.outFeatures() || down.outFeatures() != up.inFeatures()) {
                return Found.fail("gated MLP shapes do not fit: W_gate " + shape(gate) + ", W_up " + shape(up)
                        + ", W_down " + shape(down));
            }
            w.put(WeightRole.GATE, gate);
            w.put(WeightRole.UP, up);
            w.put(WeightRole.DOWN, down);
            return Found.of(new NormBlock(site, BlockKind.GATED_MLP, BlockKind.GATED_MLP, gateFeed.value().site(),
                    gateFeed.value().gamma(), w, 0, 0, null, null));
        }
        Found<NormIndex.Feed> feed = index.feeding(m.w1().input(), "W_1 '" + m.w1().weight().name() + "'");
        if (!feed.ok()) {
            return feed.cast();
        }
        WeightRef w1 = m.w1().weight();
        WeightRef w2 = last.weight();
        if (w2.inFeatures() != w1.outFeatures() || w2.outFeatures() != w1.inFeatures()) {
            return Found.fail("MLP shapes do not fit: W_1 " + shape(w1) + ", W_2 " + shape(w2));
        }
        w.put(WeightRole.W1, w1);
        w.put(WeightRole.W2, w2);
        return Found.of(new NormBlock(site, BlockKind.MLP, BlockKind.MLP, feed.value().site(), feed.value().gamma(), w,
                0, 0, null, null));
    }

    private static String shape(WeightRef w) {
        return "'" + w.name() + "' [" + w.outFeatures() + " x " + w.inFeatures() + "]";
    }
}
