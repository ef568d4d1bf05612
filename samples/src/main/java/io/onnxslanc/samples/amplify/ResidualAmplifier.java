package io.onnxslanc.samples.amplify;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.blocks.BlockKind;
import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.calibrate.blocks.NormNames;
import io.onnxslanc.calibrate.blocks.WeightRef;
import io.onnxslanc.calibrate.blocks.WeightRole;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.ir.Walk;
import io.onnxslanc.match.Constants;
import io.onnxslanc.match.Epsilon;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import io.onnxslanc.rewrite.SlancRewrite;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Multiplies a Transformer's residual stream by c while keeping its FP32 function: every norm then sees a c times
 * larger input (its epsilon becomes epsilon c^2, so its output is unchanged), which reproduces on a small model the
 * large residual norms of big LLMs that make naive FP16 norms overflow.
 *
 * <p><b>Pre-norm</b> (Llama, GPT-2): the stream is the embedding plus the outputs of W_o and W_down (W_2). The value
 * entering the first norm (the embedding Gather's output) gets a Mul by c, redirected for all of its users, and every
 * writer's weight and bias become scaled copies times c. The Mul rather than a scaled embedding table: stories260K
 * ties its embedding to the classifier, and a separate scaled copy for the Gather would double the largest tensor,
 * while one Mul by a power of two is exact. Norm outputs are unchanged, so nothing that reads them changes.
 *
 * <p><b>Post-norm</b> (BERT): the stream is the output of each norm. The first norm's input gets the same Mul by c;
 * every norm except the last gets its gain and bias times c, so the stream is c times larger; every layer reading
 * the stream (W_q, W_k, W_v, W_1) has its weight divided by c, its bias kept (or, optionally, a Mul by 1/c in front
 * of it: {@link AmplifyOptions.ReaderCompensation}), so Q, K, V and the MLP's pre-activation are unchanged; and
 * every writer (W_o, W_2) has weight and bias times c, so the next residual sum, the next norm's input, is c times
 * the original. The last norm keeps its gain, so the model's output is unchanged.
 *
 * <p>Nothing shared is edited: every scaled constant is a new initializer used only by the edge it replaces (the
 * epsilon Constant may be shared by every norm). With c a power of two every step is exact in FP32.
 */
public final class ResidualAmplifier {
    private static final Set<String> CAST_LIKE = Walk.CAST_LIKE;
    private static final Set<String> LAYOUT = Walk.LAYOUT;

    private final Model model;
    private final Graph graph;
    private final double c;
    private final AmplifyOptions options;
    private final List<NormSite> sites;
    private final List<String> streamInputs = new ArrayList<>();
    private final List<String> writersUp = new ArrayList<>();
    private final List<String> biasesUp = new ArrayList<>();
    private final List<String> gainsUp = new ArrayList<>();
    private final List<String> readers = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    private ResidualAmplifier(Model model, AmplifyOptions options, List<NormSite> sites) {
        this.model = model;
        this.graph = model.graph();
        this.c = options.factor();
        this.options = options;
        this.sites = sites;
    }

    /** Amplifies by {@code factor} with the default options. */
    public static AmplifyReport amplify(Model model, double factor) {
        return amplify(model, AmplifyOptions.of(factor));
    }

    /**
     * Rewrites {@code model} in place. Factor 1 leaves it untouched.
     *
     * @throws IllegalArgumentException naming the norm or node when the model is not a recognised pre-norm or
     *                                  post-norm Transformer; the model may then be partly rewritten
     */
    public static AmplifyReport amplify(Model model, AmplifyOptions options) {
        List<NormSite> sites = NormMatcher.findAll(model.graph());
        if (sites.isEmpty()) {
            throw new IllegalArgumentException("no LayerNorm / RMSNorm found: nothing to amplify");
        }
        if (options.factor() == 1) {
            return AmplifyReport.unchanged(sites.size());
        }
        return new ResidualAmplifier(model, options, sites).run();
    }

    private AmplifyReport run() {
        for (NormSite s : sites) {
            check(s);
        }
        List<NormBlock> blocks = Slanc.blocks(model, sites);
        NormBlock first = null;
        for (NormBlock b : blocks) {
            if (b.kind() == BlockKind.UNKNOWN) {
                throw new IllegalArgumentException("norm '" + NormNames.of(b.site()) + "': the block in front of it is not "
                        + "recognised (" + b.reason() + "), so its writer cannot be scaled");
            }
            if (b.kind() == BlockKind.FIRST) {
                if (first != null) {
                    throw new IllegalArgumentException("norms '" + NormNames.of(first.site()) + "' and '" + NormNames.of(b.site())
                            + "' both start a residual stream; only models with one stream are supported");
                }
                first = b;
            }
        }
        if (first == null) {
            throw new IllegalArgumentException("no first norm found (every norm has another norm upstream)");
        }
        AmplifyReport.Layout layout = layout(blocks);
        if (!options.exact()) {
            warnings.add("factor " + AmplifyReport.format(c) + " is not a power of two: scaled values are rounded, so "
                    + "the FP32 function changes by float rounding");
        }

        amplifyStreamStart(first.site());
        for (NormBlock b : blocks) {
            if (b.kind() != BlockKind.FIRST) {
                scaleWriter(b);
            }
        }
        if (layout == AmplifyReport.Layout.POST_NORM) {
            for (NormBlock b : blocks) {
                if (b.kind() != BlockKind.FINAL) {
                    scaleGains(b.site());
                    compensateReaders(b.site());
                }
            }
        }
        int epsilons = 0;
        for (NormSite s : sites) {
            epsilons += scaleEpsilon(s) ? 1 : 0;
        }
        graph.toposort();
        graph.verify();
        return new AmplifyReport(c, layout, sites.size(), streamInputs, writersUp, biasesUp, gainsUp, readers, epsilons,
                warnings);
    }

    private void check(NormSite s) {
        if (s.root().graph() != graph) {
            throw new IllegalArgumentException("norm '" + NormNames.of(s) + "' is inside a subgraph; only main-graph norms are amplified");
        }
        for (Value side : s.sideOutputs()) {
            boolean residualSum = s.kind().hasSkipInput() && s.root().outputs().indexOf(side) == 3;
            if (!residualSum) {
                throw new IllegalArgumentException("norm '" + NormNames.of(s) + "': its intermediate '" + side.name()
                        + "' is used outside the norm and would change with the input's scale");
            }
        }
    }

    // ---- layout ------------------------------------------------------------------------------

    /** Post-norm when a norm's residual Add reads another norm's output; pre-norm when none does; mixed fails. */
    private AmplifyReport.Layout layout(List<NormBlock> blocks) {
        Set<Value> normOutputs = new HashSet<>();
        sites.forEach(s -> normOutputs.add(s.output()));
        int post = 0;
        int pre = 0;
        String example = null;
        for (NormBlock b : blocks) {
            if (b.kind() == BlockKind.FIRST) {
                continue;
            }
            boolean readsNorm = false;
            for (Value operand : residualOperands(b.site())) {
                readsNorm |= normOutputs.contains(through(operand, CAST_LIKE));
            }
            if (readsNorm) {
                post++;
            } else {
                pre++;
            }
            if (example == null) {
                example = NormNames.of(b.site());
            }
        }
        if (post > 0 && pre > 0) {
            throw new IllegalArgumentException(post + " norms read another norm's output through their residual Add and "
                    + pre + " do not: neither a pre-norm nor a post-norm network");
        }
        return post > 0 ? AmplifyReport.Layout.POST_NORM : AmplifyReport.Layout.PRE_NORM;
    }

    /** The two summands of the residual sum a norm normalises: the Add in front of it, or a Skip* op's operands. */
    private static List<Value> residualOperands(NormSite s) {
        if (s.kind().hasSkipInput()) {
            return List.of(s.input(), s.skip());
        }
        Value x = through(s.input(), CAST_LIKE);
        Node p = x.producer();
        if (p == null || !p.is("Add")) {
            throw new IllegalArgumentException("norm '" + NormNames.of(s) + "': input '" + x.name() + "' is not a residual Add");
        }
        return List.of(p.input(0), p.input(1));
    }

    private static Value through(Value v, Set<String> ops) {
        return Walk.back(v, ops);
    }

    // ---- the rewrites --------------------------------------------------------------------------

    /** Mul by c on the value entering the first norm, for every user of that value (norm and residual alike). */
    private void amplifyStreamStart(NormSite first) {
        if (first.kind().hasSkipInput()) {
            throw new IllegalArgumentException("first norm '" + NormNames.of(first) + "' is a " + first.kind().label()
                    + "; a stream that starts inside a Skip norm is not supported");
        }
        Value x = first.input();
        if (x.isGraphOutput()) {
            throw new IllegalArgumentException("the first norm's input '" + x.name() + "' is also a graph output");
        }
        Node mul = ScaledConstants.multiplyUses(graph, x, new ArrayList<>(x.uses()), c, "amplify_" + safe(x.name()));
        streamInputs.add(x.name() + " (Mul '" + mul.name() + "')");
    }

    /** W_o / W_down / W_2 of the block in front of the norm, and its bias: scaled copies times c. */
    private void scaleWriter(NormBlock b) {
        WeightRole role = switch (b.formula()) {
            case ATTENTION -> WeightRole.O;
            case GATED_MLP -> WeightRole.DOWN;
            case MLP -> WeightRole.W2;
            default -> throw new IllegalStateException("block " + b.formula() + " has no writer");
        };
        WeightRef w = b.weights().get(role);
        if (w == null) {
            throw new IllegalArgumentException("norm '" + NormNames.of(b.site()) + "': no " + role.label() + " weight reported");
        }
        Writer writer = null;
        for (Value operand : residualOperands(b.site())) {
            Writer found = writerBehind(operand, w.name());
            if (found != null) {
                writer = found;
            }
        }
        if (writer == null) {
            throw new IllegalArgumentException("norm '" + NormNames.of(b.site()) + "': the linear layer reading "
                    + role.label() + " '" + w.name() + "' was not found behind its residual sum");
        }
        Node lin = writer.linear();
        Value scaled = QuantizedWriters.scale(graph, lin, c, role.label());
        if (scaled == null) {
            scaled = ScaledConstants.replace(graph, lin, 1, c, role.label());
        }
        writersUp.add(w.name() + " -> " + scaled.name());
        if (lin.is("Gemm") && lin.input(2) != null) {
            biasesUp.add(ScaledConstants.replace(graph, lin, 2, c, "bias").name());
        }
        if (writer.biasAdd() != null) {
            biasesUp.add(ScaledConstants.replace(graph, writer.biasAdd(), writer.biasIndex(), c, "bias").name());
        }
        if (b.site().kind().hasSkipInput() && b.site().root().input(4) != null) {
            // Skip* ops add their own bias into the same residual sum
            biasesUp.add(ScaledConstants.replace(graph, b.site().root(), 4, c, "Skip bias").name());
        }
    }

    /** The last linear layer of a branch and the bias Add after it, if any. */
    private record Writer(Node linear, Node biasAdd, int biasIndex) {
    }

    /** Walks back from a residual summand through layout ops and one bias Add to a MatMul/Gemm reading {@code weight}. */
    private static Writer writerBehind(Value operand, String weight) {
        Node biasAdd = null;
        int biasIndex = -1;
        Value cur = operand;
        for (int guard = 0; guard < 16 && cur != null; guard++) {
            Node p = cur.producer();
            if (p == null) {
                return null;
            }
            if (p.is("MatMul") || p.is("Gemm") || QuantizedWriters.isMatMulNBits(p)) {
                return weight.equals(weightRoot(p)) ? new Writer(p, biasAdd, biasIndex) : null;
            }
            if (p.isOneOf(LAYOUT)) {
                cur = p.input(0);
            } else if (p.is("Add") && biasAdd == null && (isConstant(p.input(0)) ^ isConstant(p.input(1)))) {
                biasAdd = p;
                biasIndex = isConstant(p.input(0)) ? 0 : 1;
                cur = p.input(1 - biasIndex);
            } else {
                return null;
            }
        }
        return null;
    }

    /** Name of the constant behind a linear layer's weight operand (through layout ops), or null. */
    private static String weightRoot(Node linear) {
        Node dq = QuantizedWriters.dequantizer(linear);
        Value cur = dq != null ? dq.input(0) : linear.input(1);
        for (int guard = 0; guard < 8 && cur != null; guard++) {
            if (isConstant(cur)) {
                return cur.name();
            }
            Node p = cur.producer();
            if (p == null || !p.isOneOf(LAYOUT)) {
                return null;
            }
            cur = p.input(0);
        }
        return null;
    }

    private static boolean isConstant(Value v) {
        return Constants.tensor(v) != null;
    }

    /** Post-norm: the norm's output is the stream, so gain and bias become c times larger (new constants). */
    private void scaleGains(NormSite s) {
        if (s.gamma() == null) {
            throw new IllegalArgumentException("post-norm norm '" + NormNames.of(s) + "' has no gain to scale");
        }
        gainsUp.add(scaleParameter(s, s.gamma(), "gain"));
        if (s.beta() != null) {
            gainsUp.add(scaleParameter(s, s.beta(), "bias"));
        }
    }

    private String scaleParameter(NormSite s, Value p, String what) {
        Set<Node> inside = new HashSet<>(s.nodes());
        // the norm reads the parameter directly, or through a pass-through op only it uses
        for (Value.Use u : new ArrayList<>(p.uses())) {
            if (inside.contains(u.node())) {
                return ScaledConstants.replace(graph, u.node(), u.index(), c, what + " of norm '" + NormNames.of(s) + "'").name();
            }
        }
        for (Node n : s.nodes()) {
            for (int i = 0; i < n.inputs().size(); i++) {
                Value in = n.input(i);
                if (in != null && in != s.input() && through(in, LAYOUT) == p) {
                    return ScaledConstants.replace(graph, n, i, c, what + " of norm '" + NormNames.of(s) + "'").name();
                }
            }
        }
        throw new IllegalArgumentException("norm '" + NormNames.of(s) + "': its " + what + " '" + p.name()
                + "' is not an operand of the norm's nodes");
    }

    /**
     * Post-norm: every user of a norm's output other than the residual sums of the next norms reads the stream; it
     * gets x back (one Mul by 1/c on those edges, or its weight divided by c).
     */
    private void compensateReaders(NormSite s) {
        Value y = s.output();
        if (y.isGraphOutput()) {
            throw new IllegalArgumentException("norm '" + NormNames.of(s) + "' is not the last norm but its output '"
                    + y.name() + "' is a graph output, which would come out c times larger");
        }
        List<Value.Use> reading = new ArrayList<>();
        for (Value.Use u : y.uses()) {
            if (!feedsNormResidual(u.node())) {
                reading.add(u);
            }
        }
        if (reading.isEmpty()) {
            return;
        }
        if (options.readers() == AmplifyOptions.ReaderCompensation.EDGE_MUL) {
            Node mul = ScaledConstants.multiplyUses(graph, y, reading, 1 / c, "amplify_undo_" + safe(NormNames.of(s)));
            readers.add("Mul '" + mul.name() + "' -> " + reading.size() + " reader(s)");
            return;
        }
        for (Value.Use u : reading) {
            Node n = u.node();
            if (!((n.is("MatMul") || n.is("Gemm")) && u.index() == 0 && n.intAttr("transA", 0) == 0)) {
                throw new IllegalArgumentException("norm '" + NormNames.of(s) + "': its output is read by " + n.opType()
                        + " '" + n.name() + "', not a linear layer's input; use reader compensation EDGE_MUL");
            }
            readers.add(ScaledConstants.replace(graph, n, 1, 1 / c, "weight").name());
        }
    }

    /** An Add that produces (through Cast/Identity) the input of a norm, or a Skip* norm itself. */
    private boolean feedsNormResidual(Node n) {
        for (NormSite s : sites) {
            if (s.kind().hasSkipInput() && s.root() == n) {
                return true;
            }
            if (!s.kind().hasSkipInput() && n.is("Add") && through(s.input(), CAST_LIKE) == n.output(0)) {
                return true;
            }
        }
        return false;
    }

    /** epsilon times c^2 (c on a standard deviation), as the SLaNC rewrite rescales it; false without epsilon. */
    private boolean scaleEpsilon(NormSite s) {
        if (s.epsilon() instanceof Epsilon.Absent) {
            return false;
        }
        SlancRewrite.rescaleEpsilon(s, c, "amplify_epsilon_" + safe(NormNames.of(s)), warnings);
        return true;
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9_.]", "_").replaceAll("^_+", "").toLowerCase(Locale.ROOT);
    }
}
