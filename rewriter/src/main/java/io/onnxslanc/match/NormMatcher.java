package io.onnxslanc.match;

import io.onnxslanc.canon.CanonicalView;
import io.onnxslanc.canon.PartialShapes;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds every norm of a graph and its subgraphs. Walks the nodes once in graph order; a node is
 * offered only to the patterns that can start at its op type, and the first pattern that matches
 * claims its nodes, so every node belongs to at most one norm. Each pattern only looks at the
 * neighbourhood of its root, so the cost grows linearly with the graph.
 */
public final class NormMatcher {
    private final List<NormPattern> patterns;
    private final Map<String, List<NormPattern>> byRootOp = new HashMap<>();

    public NormMatcher(List<NormPattern> patterns) {
        this.patterns = List.copyOf(patterns);
        for (NormPattern p : this.patterns) {
            for (String op : p.rootOpTypes()) {
                byRootOp.computeIfAbsent(op, k -> new ArrayList<>()).add(p);
            }
        }
    }

    /** Every form this tool knows, fused forms first; among decomposed forms LayerNorm before RMSNorm. */
    public static List<NormPattern> defaultPatterns() {
        return List.of(new LayerNormalizationPattern(), new RmsNormalizationPattern(),
                new SimplifiedLayerNormalizationPattern(), new SkipLayerNormalizationPattern(),
                new SkipSimplifiedLayerNormalizationPattern(), new DecomposedLayerNormPattern(),
                new DecomposedRmsNormPattern());
    }

    /** The norms of {@code graph} (and of its subgraphs, placed after the node owning them), in graph order. */
    public static List<NormSite> findAll(Graph graph) {
        return new NormMatcher(defaultPatterns()).find(graph);
    }

    public List<NormPattern> patterns() {
        return patterns;
    }

    /** The norms of {@code graph} and its subgraphs, in graph order. */
    public List<NormSite> find(Graph graph) {
        // matching only reads the graph, so its shape queries share one memo (linear in the node count)
        return PartialShapes.sharedWhile(() -> visit(graph, Collections.newSetFromMap(new IdentityHashMap<>()),
                new CanonicalView()));
    }

    /**
     * A decomposed norm is recognised at its normalising node, which comes after its first node: sites are put back
     * in the order of their first nodes (a subgraph's norms right after the node owning the subgraph).
     */
    private List<NormSite> visit(Graph graph, Set<Node> claimed, CanonicalView view) {
        record Keyed(int key, NormSite site) {
        }
        List<Keyed> found = new ArrayList<>();
        Map<Node, Integer> position = new IdentityHashMap<>();
        List<Node> nodes = graph.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            position.put(nodes.get(i), i);
        }
        for (int i = 0; i < nodes.size(); i++) {
            Node node = nodes.get(i);
            if (!claimed.contains(node)) {
                NormSite site = matchAt(node, claimed, view);
                if (site != null) {
                    claimed.addAll(site.nodes());
                    found.add(new Keyed(2 * position.getOrDefault(site.root(), 0), site));
                }
            }
            for (Graph sub : node.subgraphs()) {
                for (NormSite s : visit(sub, claimed, view)) {
                    found.add(new Keyed(2 * i + 1, s));
                }
            }
        }
        found.sort(java.util.Comparator.comparingInt(Keyed::key));
        return found.stream().map(Keyed::site).toList();
    }

    /** The first pattern's site at {@code node} that claims no claimed node, or null. */
    private NormSite matchAt(Node node, Set<Node> claimed, CanonicalView view) {
        for (NormPattern p : byRootOp.getOrDefault(node.opType(), List.of())) {
            Outcome o = p.match(node, view);
            if (o.matched() && o.site().nodes().stream().noneMatch(claimed::contains)) {
                return o.site();
            }
        }
        return null;
    }

    /**
     * Why no pattern of this matcher matches at {@code node} on its own: the reason of the first pattern that can
     * start at its op type, or null when one matches (or none can start there).
     */
    String whyNot(Node node, CanonicalView view) {
        String first = null;
        for (NormPattern p : byRootOp.getOrDefault(node.opType(), List.of())) {
            Outcome o = p.match(node, view);
            if (o.matched()) {
                return null;
            }
            first = first == null ? o.reason() : first;
        }
        return first;
    }
}
