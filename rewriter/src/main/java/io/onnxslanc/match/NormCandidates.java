package io.onnxslanc.match;

import io.onnxslanc.canon.CanonicalView;
import io.onnxslanc.canon.Term;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.GraphScopes;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * Never silent: everything that looks like a norm but did not become a {@link NormSite}, with the reason. Norm-like
 * is a fused norm op (any domain), or a square root / reciprocal square root of a mean or sum of squares (plus an
 * optional epsilon), as the {@link CanonicalView} reads it. The reason is the step of the semantic pattern that did
 * not match and what was found there.
 */
public final class NormCandidates {
    private static final Set<String> FUSED = Set.of("LayerNormalization", "RMSNormalization",
            "SimplifiedLayerNormalization", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization");

    /**
     * One unmatched candidate.
     *
     * @param node     the candidate's node (the fused op, or the root: Sqrt, Pow, Div(1, .), Reciprocal)
     * @param op       its op type, domain-qualified outside the default domain
     * @param output   its output value
     * @param reason   why it is no recognised norm
     * @param subgraph the If branch or Loop / Scan body holding it ({@link GraphScopes#describe}), null in the main
     *                 graph
     */
    public record Candidate(String node, String op, String output, String reason, String subgraph) {
        public Candidate(String node, String op, String output, String reason) {
            this(node, op, output, reason, null);
        }
    }

    private NormCandidates() {
    }

    /** The norm-like candidates of {@code graph} (and subgraphs) that no site in {@code sites} covers, in graph order. */
    public static List<Candidate> unmatched(Graph graph, List<NormSite> sites) {
        Set<Node> claimed = Collections.newSetFromMap(new IdentityHashMap<>());
        sites.forEach(s -> claimed.addAll(s.nodes()));
        CanonicalView view = new CanonicalView();
        NormMatcher matcher = new NormMatcher(NormMatcher.defaultPatterns());
        Map<Node, Node> rootByReduction = new LinkedHashMap<>(); // outermost root per mean of squares
        List<Candidate> out = new ArrayList<>();
        graph.forEachNodeRecursive(n -> {
            if (claimed.contains(n)) {
                return;
            }
            if (FUSED.contains(n.opType())) {
                out.add(candidate(n, fusedReason(matcher, view, n)));
                return;
            }
            Value v = n.output(0);
            if (v == null || v.name().isEmpty()) {
                return;
            }
            Term t = view.term(v);
            Value radicand = t instanceof Term.Sqrt s && t.nodes().contains(n) ? s.of()
                    : t instanceof Term.Rsqrt r && t.nodes().contains(n) ? r.of() : null;
            Node reduction = radicand == null ? null : sumOfSquares(view, radicand);
            if (reduction != null && !claimed.contains(reduction)) {
                rootByReduction.put(reduction, n);
            }
        });
        for (Node root : rootByReduction.values()) {
            out.add(candidate(root, rootReason(view, root)));
        }
        return out;
    }

    private static Candidate candidate(Node n, String reason) {
        String op = n.isDefaultDomain() ? n.opType() : n.domain() + ":" + n.opType();
        return new Candidate(n.name(), op, n.output(0) == null ? "" : n.output(0).name(), reason,
                GraphScopes.describe(n.graph()));
    }

    /** The fused pattern's own reason (wrong domain, a missing operand). */
    private static String fusedReason(NormMatcher matcher, CanonicalView view, Node n) {
        String why = matcher.whyNot(n, view);
        return why != null ? why : n.opType() + " '" + n.name() + "' matches on its own but is not among the norms found";
    }

    /** The reduction node when the radicand (less an epsilon) is a mean or sum of squares or a one-pass variance. */
    private static Node sumOfSquares(CanonicalView view, Value radicand) {
        Term r = view.term(radicand);
        if (r instanceof Term.Binary add && add.op().equals("Add")) {
            Optional<Value[]> split = CanonicalView.either(add, v -> isScalar(view, v));
            if (split.isPresent()) {
                r = view.term(split.get()[1]);
            }
        }
        for (int i = 0; i < 4 && r instanceof Term.Binary b && (b.op().equals("Mul") || b.op().equals("Div"))
                && view.isDataIndependent(b.right()); i++) {
            r = view.term(b.left());
        }
        if (r instanceof Term.Binary sub && sub.op().equals("Sub")) {
            r = view.term(sub.left()); // one-pass variance: mean(x^2) - mean(x)^2
        }
        if (r instanceof Term.Reduction red && view.term(red.of()) instanceof Term.Square) {
            return red.nodes().get(red.nodes().size() - 1);
        }
        return null;
    }

    private static boolean isScalar(CanonicalView view, Value v) {
        OptionalDouble d = view.scalar(v);
        return d.isPresent();
    }

    /** Tries both semantic forms at every Div / Mul the root feeds and keeps the most telling reason. */
    private static String rootReason(CanonicalView view, Node root) {
        Value v = root.output(0);
        if (v.uses().isEmpty()) {
            return "the root '" + v.name() + "' is not used" + (v.isGraphOutput() ? " except as a graph output" : "");
        }
        String best = null;
        for (Node user : v.consumers()) {
            Node anchor = user;
            Optional<DecomposedNorm.Normaliser> n = DecomposedNorm.normaliser(view, anchor);
            if (n.isEmpty()) {
                // the root may reach its Div / Mul through an epsilon Add (std + eps) or a Cast
                for (Node next : user.output(0) == null ? List.<Node>of() : user.output(0).consumers()) {
                    if (DecomposedNorm.normaliser(view, next).isPresent()) {
                        anchor = next;
                        n = DecomposedNorm.normaliser(view, next);
                        break;
                    }
                }
            }
            if (n.isEmpty()) {
                continue;
            }
            boolean deviation = view.term(n.get().numerator()) instanceof Term.Binary b && b.op().equals("Sub");
            NormKind kind = deviation ? NormKind.DECOMPOSED_LAYER_NORM : NormKind.DECOMPOSED_RMS_NORM;
            Outcome o = DecomposedNorm.match(kind, view, anchor, n.get());
            if (o.matched()) {
                return kind.label() + " at '" + anchor.name() + "' matches on its own but overlaps another norm";
            }
            best = kind.label() + " at '" + anchor.name() + "': " + o.reason();
            if (deviation) {
                break;
            }
        }
        if (best != null) {
            return best;
        }
        List<String> users = v.consumers().stream().map(c -> c.opType() + " '" + c.name() + "'").toList();
        return "the root '" + v.name() + "' feeds " + String.join(", ", users) + ", not a division or a multiplication "
                + "of the normalised value";
    }
}
