package io.onnxslanc.match;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
        List<NormSite> found = new ArrayList<>();
        visit(graph, found, Collections.newSetFromMap(new IdentityHashMap<>()));
        return found;
    }

    private void visit(Graph graph, List<NormSite> found, Set<Node> claimed) {
        for (Node node : graph.nodes()) {
            if (!claimed.contains(node)) {
                matchAt(node, claimed).ifPresent(site -> {
                    claimed.addAll(site.nodes());
                    found.add(site);
                });
            }
            for (Graph sub : node.subgraphs()) {
                visit(sub, found, claimed);
            }
        }
    }

    private Optional<NormSite> matchAt(Node node, Set<Node> claimed) {
        for (NormPattern p : byRootOp.getOrDefault(node.opType(), List.of())) {
            Optional<NormSite> site = p.match(node);
            if (site.isPresent() && site.get().nodes().stream().noneMatch(claimed::contains)) {
                return site;
            }
        }
        return Optional.empty();
    }
}
