package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.io.ModelReader;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.ModelResources;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * BERT-style encoders exported by PyTorch at opset 11 (from the langchain4j embedding jars): every
 * LayerNorm is decomposed, with eps 1e-12 as Constant nodes. The exporter names the mean
 * ".../LayerNorm/ReduceMean", which gives an independent list of where the norms are.
 */
class RealModelsTest {

    @ParameterizedTest
    @CsvSource({ModelResources.MINILM + ",13", ModelResources.BGE_SMALL + ",25", ModelResources.E5_SMALL + ",25"})
    void everyLayerNormOfTheEncoderIsFound(String resource, int expected) {
        Model model = ModelReader.read(ModelResources.file(resource));
        Graph g = model.graph();
        List<NormSite> sites = NormMatcher.findAll(g);

        assertEquals(expected, sites.size(), resource);
        Set<Node> namedMeans = Collections.newSetFromMap(new IdentityHashMap<>());
        g.nodes().stream().filter(n -> n.name().endsWith("LayerNorm/ReduceMean")).forEach(namedMeans::add);
        assertEquals(expected, namedMeans.size(), "the exporter's own LayerNorm names");
        for (NormSite s : sites) {
            assertEquals(NormKind.DECOMPOSED_LAYER_NORM, s.kind());
            assertTrue(namedMeans.contains(s.root()), s.name());
            assertEquals((double) 1e-12f, s.epsilon().value(), s.name());
            assertTrue(s.epsilon() instanceof Epsilon.InTensor, s.name());
            assertEquals(384, s.hiddenSize(), s.name());
            assertEquals(9, s.nodes().size(), s.name());
            assertTrue(s.gamma().isInitializer() && s.gamma().name().endsWith("LayerNorm.weight"), s.name());
            assertTrue(s.beta().isInitializer() && s.beta().name().endsWith("LayerNorm.bias"), s.name());
            assertEquals(List.of("ReduceMean", "Sub"), s.entryUses().stream().map(u -> u.node().opType()).toList());
            assertTrue(s.entryUses().stream().allMatch(u -> u.node().input(u.index()) == s.input()));
            assertEquals(List.<Value>of(), s.sideOutputs());
        }
        NormMatcherTest.assertDisjointAndOrdered(g, sites);
    }
}
