package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.canon.ConstantFolder;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.GraphScopes;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormSite;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Identifies, for each norm, the block in front of it and the weights its SLaNC formula reads.
 *
 * <p>From the norm's input back through the residual Add (or the two operands of a Skip* norm) to the branch:
 * a linear layer W_o / W_down / W_2 (bias Adds, Casts and Reshapes allowed after it), then the attention core or
 * the MLP activation in front of that, then the first linear layer(s) of the block and the norm feeding them.
 * A residual sum of three terms whose two branches read one norm is a parallel attention + MLP block; an attention
 * whose W_v reads another norm than its W_q is a cross-attention; a norm reading another norm's output directly
 * takes that norm's gain. A norm with no norm upstream is the first; a norm with no norm downstream is the final
 * norm and takes the factor of the block in front of it. Anything else is reported UNKNOWN with the reason;
 * nothing is guessed.
 */
public final class BlockFinder {
    private final NormIndex index;
    /** Why the last three-term sum was not a parallel block, when one branch was a linear layer that did not fit. */
    private String parallelFailure;

    /** One branch of a residual sum: its formula kind, the norm feeding it and what the formula reads. */
    private record Branch(BlockKind kind, NormIndex.Feed feed, Map<WeightRole, WeightRef> weights, int nHeads,
                          int nKvHeads, String headsSource, NormIndex.Feed memory, boolean kvTiled) {
        NormBlock toBlock(NormSite site) {
            NormBlock.Heads heads = new NormBlock.Heads(nHeads, nKvHeads, kvTiled, headsSource);
            return switch (kind) {
                case ATTENTION -> new NormBlock.Attention(site, feed.site(), feed.gamma(), weights, heads);
                case CROSS_ATTENTION -> new NormBlock.CrossAttention(site, feed.site(), feed.gamma(), weights, heads,
                        memory == null ? null : memory.site(), memory == null ? null : memory.gamma());
                case MLP -> new NormBlock.Mlp(site, feed.site(), feed.gamma(), weights);
                case GATED_MLP -> new NormBlock.GatedMlp(site, feed.site(), feed.gamma(), weights);
                default -> throw new IllegalStateException("a branch is not a " + kind);
            };
        }
    }

    private BlockFinder(Graph graph, List<NormSite> sites) {
        this.index = new NormIndex(graph, sites);
    }

    /**
     * One block per site, in the order of {@code sites}. The graphs must be in topological order. A norm inside an
     * If branch or a Loop / Scan body is read like one of the main graph: the walks follow values the body reads from
     * the enclosing graphs (their initializers, Constant nodes and node outputs) across the boundary.
     *
     * @param graph the model's main graph (a subgraph stands for the main graph holding it)
     */
    public static List<NormBlock> findAll(Graph graph, List<NormSite> sites) {
        Graph main = graph;
        while (main.parent() != null) {
            main = main.parent();
        }
        BlockFinder f = new BlockFinder(main, sites);
        List<NormBlock> out = new ArrayList<>(sites.size());
        for (NormSite s : sites) {
            out.add(f.find(s));
        }
        return out;
    }

    private NormBlock find(NormSite site) {
        for (Value v : new Value[] {site.input(), site.skip()}) {
            Value x = v == null ? null : GraphOps.through(v, io.onnxslanc.ir.Walk.CAST_LIKE);
            if (GraphScopes.isBodyInput(x)) {
                return new NormBlock.Unknown(site, "its input '" + x.name() + "' is an input of "
                        + GraphScopes.describe(x.graph()) + " (loop-carried or scanned): the block in front of it runs "
                        + "in another iteration, which a static scale cannot follow");
            }
        }
        if (index.isFirst(site)) {
            return new NormBlock.First(site);
        }
        Found<NormBlock> front = front(site);
        if (!front.ok()) {
            return new NormBlock.Unknown(site, front.reason());
        }
        return index.isLast(site) ? new NormBlock.Final(front.value()) : front.value();
    }

    /** The block on the branch side of the residual connection in front of the norm. */
    private Found<NormBlock> front(NormSite site) {
        List<Value> candidates;
        String where;
        if (site.kind().hasSkipInput()) {
            candidates = List.of(site.input(), site.skip());
            where = "inputs " + GraphOps.describe(site.input()) + " and " + GraphOps.describe(site.skip());
        } else {
            Value x = throughRowReshapes(GraphOps.through(site.input(), io.onnxslanc.ir.Walk.CAST_LIKE), site.hiddenSize());
            Found<NormIndex.Feed> direct = index.feeding(x, "the input");
            if (direct.ok()) {
                NormIndex.Feed f = direct.value();
                return Found.of(new NormBlock.Norm(site, f.site(), f.gamma()));
            }
            Node p = x.producer();
            if (p == null || !p.is("Add") || GraphOps.isConstant(p.input(0)) || GraphOps.isConstant(p.input(1))) {
                Found<NormBlock> heads = projectionHeads(site, x);
                if (heads != null) {
                    return heads;
                }
                return Found.fail("input is " + GraphOps.describe(x) + ", not a residual Add x + block(x)");
            }
            parallelFailure = null;
            for (List<Value> terms : threeTerms(p)) {
                Found<NormBlock> parallel = parallel(site, terms);
                if (parallel != null) {
                    return parallel;
                }
            }
            Found<NormBlock> sandwich = sandwich(site, p);
            if (sandwich != null) {
                return sandwich;
            }
            candidates = List.of(p.input(0), p.input(1));
            where = "input is Add(" + GraphOps.describe(p.input(0)) + ", " + GraphOps.describe(p.input(1)) + ")";
        }
        List<NormBlock> recognised = new ArrayList<>();
        String firstFailure = null;
        for (Value c : candidates) {
            Found<LinearLayer> out = scaledLinear(c);
            if (!out.ok()) {
                continue;
            }
            Found<Branch> block = classify(site, out.value());
            if (block.ok()) {
                recognised.add(block.value().toBlock(site));
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
        return Found.fail(where + " with no MatMul weight found" + (parallelFailure == null ? "" : "; " + parallelFailure));
    }

    /**
     * A norm over groups of one projection of a norm's output, no residual: Qwen3 / Gemma3 q_norm and k_norm read
     * Reshape(W_q LN(x)) to [.., heads, head_dim]. Null when the input is not (through layout ops and a bias) a linear
     * layer; a failure when it is one but does not fit (no norm feeds it, or its width is not a multiple of d).
     */
    private Found<NormBlock> projectionHeads(NormSite site, Value x) {
        Found<LinearLayer> lin = LinearLayer.of(GraphOps.throughLayoutAndBias(x).producer());
        if (!lin.ok()) {
            // one part of a packed projection picked by Split / Slice / Gather (Persimmon's q_layernorm reads Q of
            // query_key_value viewed [.., heads, 3, head_dim]): the rows that part keeps, as for W_v
            Node p = x.producer();
            if (p == null || !p.isDefaultDomain() || !p.isOneOf(Set.of("Split", "Slice", "Gather", "GatherND"))) {
                return null;
            }
            Found<ValuePath> picked = ValuePath.of(x);
            if (!picked.ok()) {
                return null;
            }
            lin = Found.of(picked.value().wv());
        }
        WeightRef w = lin.value().weight();
        long d = site.hiddenSize();
        if (d > 0 && w.outFeatures() == d && !index.feeding(lin.value().input(), "W").ok()) {
            return blockOutput(site, lin.value(), null);
        }
        if (d <= 0 || w.outFeatures() % d != 0) {
            return Found.fail("input is a projection '" + lin.value().node().name() + "' of " + w.outFeatures()
                    + " features, not whole groups of the norm's " + (d <= 0 ? "unknown width" : d + " features"));
        }
        Found<NormIndex.Feed> feed = index.feeding(lin.value().input(), "W '" + w.name() + "'");
        if (!feed.ok()) {
            return blockOutput(site, lin.value(), feed.reason());
        }
        int groups = (int) (w.outFeatures() / d);
        return Found.of(new NormBlock.Projection(site, feed.value().site(), feed.value().gamma(),
                Map.of(WeightRole.PROJECTION, w), new NormBlock.Heads(groups, groups, false, groups + " groups of " + d
                + " features")));
    }

    /**
     * A norm reading a block's output alone, no residual (the inner norm of a Gemma2 / Gemma3 sandwich): an attention
     * (s = ||W_o W_v Gamma||_F) or a gated MLP (whose formula has no residual term anyway). A plain MLP without
     * residual has no formula here and fails with the reason.
     */
    private Found<NormBlock> blockOutput(NormSite site, LinearLayer last, String notProjection) {
        Found<Branch> b = classify(site, last);
        String name = "'" + last.node().name() + "'";
        if (!b.ok()) {
            return Found.fail("input is the output of " + name + " with no residual, not a recognised block: " + b.reason()
                    + (notProjection == null ? "" : "; nor a projection of a norm's output: " + notProjection));
        }
        Branch br = b.value();
        if (br.kind() == BlockKind.ATTENTION) {
            return Found.of(new NormBlock.AttentionOutput(site, br.feed().site(), br.feed().gamma(), br.weights(),
                    new NormBlock.Heads(br.nHeads(), br.nKvHeads(), br.kvTiled(), br.headsSource())));
        }
        if (br.kind() == BlockKind.GATED_MLP) {
            return Found.of(br.toBlock(site));
        }
        return Found.fail("input is the output of a " + br.kind().label() + " block " + name
                + " with no residual; only attention and gated-MLP outputs have a formula");
    }

    /**
     * x + norm_out(block(norm_in(x))): one operand of the residual Add is a norm's output whose own input is an
     * attention or gated-MLP output alone (ATTENTION_OUTPUT / GATED_MLP), the other the input of that block's norm.
     * Null when the Add is not of that form.
     */
    private Found<NormBlock> sandwich(NormSite site, Node add) {
        Set<String> castLike = io.onnxslanc.ir.Walk.CAST_LIKE;
        for (int i = 0; i < 2; i++) {
            Value operand = GraphOps.through(add.input(i), castLike);
            Found<NormIndex.Feed> inner = index.feeding(operand, "the residual Add's operand");
            if (!inner.ok()) {
                continue;
            }
            NormBlock innerBlock = find(inner.value().site());
            NormBlock front = innerBlock.formulaBlock();
            NormSite outer = front.feedingNorm();
            Value residual = GraphOps.through(add.input(1 - i), castLike);
            if (!(front instanceof NormBlock.AttentionOutput || front instanceof NormBlock.GatedMlp) || outer == null
                    || residual != GraphOps.through(outer.input(), castLike)) {
                continue; // a post-norm residual (BERT: LN2 reads LN1's output + MLP), read as usual below
            }
            NormSite innerNorm = inner.value().site();
            Value innerGamma = inner.value().gamma();
            return Found.of(front instanceof NormBlock.AttentionOutput a
                    ? new NormBlock.SandwichAttention(site, outer, a.gamma(), a.weights(), a.heads(), innerNorm, innerGamma)
                    : new NormBlock.SandwichMlp(site, outer, front.gamma(), front.weights(), innerNorm, innerGamma));
        }
        return null;
    }

    /**
     * The linear layer ending a residual branch, through layout ops, a bias, Mul / Div by scalar constants
     * (Granite multiplies every block's output by residual_multiplier) and Mul by a per-feature constant (LayerScale:
     * DINOv2, CaiT): the constants are folded into its weight (c W, diag(lambda) W), since the formulas are linear in
     * the last layer's W.
     */
    private static Found<LinearLayer> scaledLinear(Value branch) {
        double factor = 1.0;
        List<double[]> perRow = new ArrayList<>();
        Value v = GraphOps.throughLayoutAndBias(branch);
        for (int guard = 0; guard < 4; guard++) {
            Node p = v.producer();
            Value other = p == null || !p.isDefaultDomain() || !(p.is("Mul") || p.is("Div")) ? null
                    : GraphOps.nonConstantOperand(p);
            if (other == null || p.is("Div") && other != p.input(0)) {
                break;
            }
            Value constant = p.input(other == p.input(0) ? 1 : 0);
            java.util.OptionalDouble k = ConstantFolder.scalar(constant);
            if (k.isPresent()) {
                if (!Double.isFinite(k.getAsDouble()) || k.getAsDouble() == 0) {
                    break;
                }
                factor *= p.is("Mul") ? k.getAsDouble() : 1 / k.getAsDouble();
            } else {
                double[] rows = p.is("Mul") ? lastAxisVector(constant) : null;
                if (rows == null) {
                    break;
                }
                perRow.add(rows);
            }
            v = GraphOps.throughLayoutAndBias(other);
        }
        Found<LinearLayer> lin = LinearLayer.of(v.producer());
        if (!lin.ok() || factor == 1.0 && perRow.isEmpty()) {
            return lin;
        }
        LinearLayer l = lin.value();
        WeightRef w = factor == 1.0 ? l.weight() : l.weight().times(factor);
        for (double[] rows : perRow) {
            if (rows.length != w.outFeatures()) {
                return Found.fail("'" + l.node().name() + "' writes " + w.outFeatures() + " features, multiplied by "
                        + rows.length + " constants per feature");
            }
            w = w.timesRows(rows);
        }
        return Found.of(new LinearLayer(l.node(), l.input(), w));
    }

    /** A finite constant whose dims are all 1 but the last (a per-feature scale), or null. */
    private static double[] lastAxisVector(Value c) {
        io.onnxslanc.ir.Tensor t = ConstantFolder.value(c);
        if (t == null || t.elementCount() < 2 || t.elementCount() > Integer.MAX_VALUE) {
            return null;
        }
        long[] dims = t.dims();
        for (int i = 0; i < dims.length - 1; i++) {
            if (dims[i] != 1) {
                return null;
            }
        }
        double[] v = ConstantFolder.doubles(c);
        if (v == null) {
            return null;
        }
        for (double x : v) {
            if (!Double.isFinite(x)) {
                return null;
            }
        }
        return v;
    }

    /**
     * Steps back through Reshapes that keep the feature axis as the last one (OPT flattens the residual stream to
     * [tokens, d] around its MLP and views it back after): rows are regrouped, each row's values unchanged.
     */
    private static Value throughRowReshapes(Value x, long d) {
        for (int guard = 0; guard < 8 && d > 0; guard++) {
            Node p = x.producer();
            long[] target = p == null || !p.is("Reshape") ? null : ShapeValues.tail(p.input(1));
            if (target == null || target.length == 0 || target[target.length - 1] != d
                    || GraphOps.inferredRank(p.input(0)) < 1) {
                return x;
            }
            long[] from = ConstantFolder.dims(p.input(0));
            if (from == null || from.length == 0 || from[from.length - 1] != d) {
                return x; // the last axis of the source must be the same d features
            }
            x = GraphOps.through(p.input(0), io.onnxslanc.ir.Walk.CAST_LIKE);
        }
        return x;
    }

    /** The ways to read Add(a, b) as a sum of three terms: a or b itself an Add of two computed values. */
    private static List<List<Value>> threeTerms(Node add) {
        List<List<Value>> out = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Value v = GraphOps.through(add.input(i), Set.of("Cast", "Identity"));
            Node p = v.producer();
            if (p != null && p.is("Add") && !GraphOps.isConstant(p.input(0)) && !GraphOps.isConstant(p.input(1))) {
                out.add(List.of(p.input(0), p.input(1), add.input(1 - i)));
            }
        }
        return out;
    }

    /**
     * x + attn(LN x) + mlp(LN x): two recognised branches, a self-attention and an MLP, reading the same norm, and
     * one more term, the residual, which is that norm's input (pre-norm) or output. Null when the sum is not of that
     * form (a sequential pair of blocks also flattens to three terms; its branches read different norms).
     */
    private Found<NormBlock> parallel(NormSite site, List<Value> terms) {
        List<Branch> branches = new ArrayList<>();
        List<Value> rest = new ArrayList<>();
        String failure = null;
        for (Value t : terms) {
            Found<LinearLayer> out = scaledLinear(t);
            Found<Branch> b = out.ok() ? classify(site, out.value()) : null;
            if (b != null && b.ok()) {
                branches.add(b.value());
            } else {
                rest.add(t);
                failure = failure != null || b == null ? failure : b.reason();
            }
        }
        if (branches.size() != 2 || rest.size() != 1) {
            if (failure != null && branches.size() + rest.size() == 3 && rest.size() == 2) {
                parallelFailure = "as a parallel block: " + failure;
            }
            return null;
        }
        Branch att = branches.get(0).kind() == BlockKind.ATTENTION ? branches.get(0) : branches.get(1);
        Branch mlp = att == branches.get(0) ? branches.get(1) : branches.get(0);
        if (att.kind() != BlockKind.ATTENTION || mlp.kind() != BlockKind.MLP && mlp.kind() != BlockKind.GATED_MLP) {
            return null;
        }
        NormSite norm = att.feed().site();
        Value residual = GraphOps.through(rest.get(0), Set.of("Cast", "Identity"));
        Set<String> castLike = Set.of("Cast", "Identity");
        boolean residualFits = residual == GraphOps.through(norm.input(), castLike) || residual == norm.output();
        if (!residualFits) {
            return null;
        }
        if (mlp.feed().site() != norm) {
            NormSite other = mlp.feed().site();
            if (residual != GraphOps.through(other.input(), castLike) && residual != other.output()) {
                return null; // the MLP reads the norm after the attention: two blocks in sequence
            }
            return Found.fail("parallel attention and MLP read different norms ('" + NormNames.of(norm) + "', '"
                    + NormNames.of(mlp.feed().site()) + "'); only one shared norm is supported");
        }
        Map<WeightRole, WeightRef> w = new LinkedHashMap<>(att.weights());
        w.putAll(mlp.weights());
        return Found.of(new NormBlock.Parallel(site, norm, att.feed().gamma(), w, new NormBlock.Heads(att.nHeads(),
                att.nKvHeads(), att.kvTiled(), att.headsSource() + "; MLP branch " + mlp.kind().label())));
    }

    private Found<Branch> classify(NormSite site, LinearLayer last) {
        long d = site.hiddenSize();
        if (d > 0 && last.weight().outFeatures() != d) {
            return Found.fail("'" + last.node().name() + "' writes " + last.weight().outFeatures() + " features, the norm has " + d);
        }
        Found<AttentionBlocks.Attention> att = AttentionBlocks.match(last);
        if (att != null) {
            return att.ok() ? attention(att.value(), last) : att.cast();
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
            return Found.of(new Branch(BlockKind.GATED_MLP, gateFeed.value(), w, 0, 0, null, null, false));
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
        return Found.of(new Branch(BlockKind.MLP, feed.value(), w, 0, 0, null, null, false));
    }

    /**
     * Self- or cross-attention. The query side decides: W_q's norm is Gamma_prev; when W_v reads another norm (the
     * encoder's final norm) or a graph input (a decoder exported alone), the block is a cross-attention over that
     * memory. Without a traceable W_q the block is taken as self-attention on W_v's norm, as before.
     */
    private Found<Branch> attention(AttentionBlocks.Attention a, LinearLayer wo) {
        Map<WeightRole, WeightRef> w = new LinkedHashMap<>();
        w.put(WeightRole.V, a.wv().weight());
        w.put(WeightRole.O, wo.weight());
        Found<NormIndex.Feed> vFeed = index.feeding(a.wv().input(), "W_v '" + a.wv().weight().name() + "'");
        LinearLayer wq = UnfusedAttention.queryProjection(a.probs());
        Found<NormIndex.Feed> qFeed = wq == null ? null : index.feeding(wq.input(), "W_q '" + wq.weight().name() + "'");
        boolean selfAttention = qFeed == null || !qFeed.ok() || vFeed.ok() && vFeed.value().site() == qFeed.value().site();
        if (selfAttention) {
            if (!vFeed.ok()) {
                return vFeed.cast();
            }
            return Found.of(new Branch(BlockKind.ATTENTION, vFeed.value(), w, a.nHeads(), a.nKvHeads(), a.headsSource(),
                    null, a.kvTiled()));
        }
        if (wq.weight().inFeatures() != wo.weight().outFeatures()) {
            return Found.fail("W_q '" + wq.weight().name() + "' reads " + wq.weight().inFeatures() + " features but W_o '"
                    + wo.weight().name() + "' writes " + wo.weight().outFeatures());
        }
        String memory;
        NormIndex.Feed mem = null;
        if (vFeed.ok()) {
            mem = vFeed.value();
            memory = "memory from norm '" + NormNames.of(mem.site()) + "'";
        } else {
            Value source = GraphOps.through(a.wv().input(), GraphOps.LAYOUT_OPS);
            if (source.producer() != null || GraphOps.isConstant(source)) {
                return vFeed.cast();
            }
            memory = "memory is graph input '" + source.name() + "', taken as normalised with unit gain";
        }
        return Found.of(new Branch(BlockKind.CROSS_ATTENTION, qFeed.value(), w, a.nHeads(), a.nKvHeads(),
                a.headsSource() + "; " + memory, mem, a.kvTiled()));
    }

    private static String shape(WeightRef w) {
        return "'" + w.name() + "' [" + w.outFeatures() + " x " + w.inFeatures() + "]";
    }
}
