package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The driver: graph order, one norm per node, subgraphs, pattern selection. */
class NormMatcherTest {
    private static final int D = 64;

    /** Every node in at most one site, and sites ordered by their root's position. */
    static void assertDisjointAndOrdered(Graph g, List<NormSite> sites) {
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (NormSite s : sites) {
            for (Node n : s.nodes()) {
                assertTrue(seen.add(n), n + " belongs to two norms");
            }
        }
        Map<Node, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < g.nodes().size(); i++) {
            position.put(g.nodes().get(i), i);
        }
        for (int i = 1; i < sites.size(); i++) {
            assertTrue(position.get(sites.get(i - 1).root()) < position.get(sites.get(i).root()), "graph order at " + i);
        }
    }

    @Test
    void llamaShaped32LayerGraphHas65NormsInOrder() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        Value x = b.input("tokens", 1, -1, D);
        Value w = b.input("w", D, D);
        List<Value> residuals = new ArrayList<>();
        for (int layer = 0; layer < 32; layer++) {
            for (String block : List.of("attn", "mlp")) {
                residuals.add(x);
                var norm = DecomposedRmsNormPatternTest.llamaRmsNorm(b, x, true, layer + block);
                x = b.op("Add", x, b.op("MatMul", norm.output(), w));
            }
        }
        residuals.add(x);
        var last = DecomposedRmsNormPatternTest.llamaRmsNorm(b, x, true, "final");
        b.output(b.op("MatMul", last.output(), w));

        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(65, sites.size());
        for (int i = 0; i < sites.size(); i++) {
            assertSame(residuals.get(i), sites.get(i).input(), "norm " + i);
            assertEquals(NormKind.DECOMPOSED_RMS_NORM, sites.get(i).kind());
            assertEquals(9, sites.get(i).nodes().size());
        }
        assertDisjointAndOrdered(b.graph(), sites);
    }

    @Test
    void normsInsideSubgraphsComeAfterTheirOwner() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, D);
        Value cond = b.input("cond", DataType.BOOL);
        Node first = b.node("LayerNormalization", x, b.init("g1", new double[D]));

        Graph thenBranch = b.graph().newSubgraph();
        GraphBuilder tb = new GraphBuilder(thenBranch, DataType.FLOAT);
        var rms = DecomposedRmsNormPatternTest.llamaRmsNorm(tb, first.output(0), false, "then_"); // reads an outer value
        thenBranch.addOutput(rms.output());
        Graph elseBranch = b.graph().newSubgraph();
        GraphBuilder eb = new GraphBuilder(elseBranch, DataType.FLOAT);
        Node simplified = eb.node("SimplifiedLayerNormalization", first.output(0), eb.init("g_else", new double[D]));
        elseBranch.addOutput(simplified.output(0));

        Node branch = b.nodeIn("", "If", 1, cond);
        branch.setAttribute(new Attribute("then_branch", Attribute.Kind.GRAPH, thenBranch, "", ""));
        branch.setAttribute(new Attribute("else_branch", Attribute.Kind.GRAPH, elseBranch, "", ""));
        Node after = b.node("LayerNormalization", branch.output(0), b.init("g2", new double[D]));
        b.output(after.output(0));

        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(List.of(first, rms.square(), simplified, after), sites.stream().map(NormSite::root).toList());
        assertEquals(List.of(NormKind.LAYER_NORMALIZATION, NormKind.DECOMPOSED_RMS_NORM,
                NormKind.SIMPLIFIED_LAYER_NORMALIZATION, NormKind.LAYER_NORMALIZATION),
                sites.stream().map(NormSite::kind).toList());
        assertSame(first.output(0), sites.get(1).input());
    }

    @Test
    void onlyTheGivenPatternsRun() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, D);
        Node ln = b.node("LayerNormalization", x, b.init("g", new double[D]));
        var rms = DecomposedRmsNormPatternTest.llamaRmsNorm(b, ln.output(0), false, "");
        b.output(rms.output());

        assertEquals(2, NormMatcher.findAll(b.graph()).size());
        List<NormSite> onlyRms = new NormMatcher(List.of(new DecomposedRmsNormPattern())).find(b.graph());
        assertEquals(1, onlyRms.size());
        assertEquals(NormKind.DECOMPOSED_RMS_NORM, onlyRms.get(0).kind());
    }

    @Test
    void patternsDeclareTheirKindAndRoots() {
        for (NormPattern p : NormMatcher.defaultPatterns()) {
            assertTrue(!p.rootOpTypes().isEmpty(), p.getClass().getSimpleName());
        }
        assertEquals(Set.of(NormKind.values()), Set.copyOf(NormMatcher.defaultPatterns().stream()
                .map(NormPattern::kind).toList()), "one pattern per form");
    }
}
