package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every pattern answers with an {@link Outcome}: the site, or the reason, which {@link NormCandidates} reports. */
class PatternOutcomeTest {
    private static final double[] W = {0.5, -1, 2, 0.25};

    /** A fused norm node on input x with gain g (and an empty skip operand where asked), its output a graph output. */
    private static Node fusedNorm(GraphBuilder b, String domain, String op, boolean emptySkip) {
        Value x = b.input("x", 2, W.length);
        Node n = emptySkip ? b.nodeIn(domain, op, 1, x, null, b.init("g", W)) : b.nodeIn(domain, op, 1, x, b.init("g", W));
        b.output(n.output(0));
        return n;
    }

    @Test
    void fusedPatternMatchesWithoutReason() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Node n = fusedNorm(b, "", "LayerNormalization", false);
        Outcome o = new LayerNormalizationPattern().match(n);
        assertTrue(o.matched(), o.reason());
        assertNull(o.reason());
        assertSame(n, o.site().root());
    }

    @Test
    void fusedPatternInAnotherDomainSaysWhich() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Node n = fusedNorm(b, "org.example", "LayerNormalization", false);
        Outcome o = new LayerNormalizationPattern().match(n);
        assertFalse(o.matched());
        assertTrue(o.reason().startsWith("a LayerNormalization in domain 'org.example', which has no pattern"), o.reason());
        List<NormCandidates.Candidate> c = NormCandidates.unmatched(b.graph(), NormMatcher.findAll(b.graph()));
        assertEquals(List.of(o.reason()), c.stream().map(NormCandidates.Candidate::reason).toList());
    }

    @Test
    void skipNormWithoutItsSkipOperandIsACandidateWithThatReason() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Node n = fusedNorm(b, "com.microsoft", "SkipLayerNormalization", true);
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
        List<NormCandidates.Candidate> c = NormCandidates.unmatched(b.graph(), List.of());
        assertEquals(1, c.size());
        assertEquals("its skip input (input 1) is missing", c.get(0).reason());
    }

    @Test
    void aFusedNormLeftOutOfTheSitesIsReportedAsSuch() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Node n = fusedNorm(b, "", "RMSNormalization", false);
        List<NormCandidates.Candidate> c = NormCandidates.unmatched(b.graph(), List.of());
        assertEquals(1, c.size());
        assertTrue(c.get(0).reason().endsWith("matches on its own but is not among the norms found"), c.get(0).reason());
    }

    @Test
    void decomposedPatternGivesTheStepThatFailed() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, W.length);
        Node div = b.node("Div", x, b.input("y", 2, W.length));
        b.output(div.output(0));
        Outcome o = new DecomposedRmsNormPattern().match(div);
        assertFalse(o.matched());
        assertEquals("'" + div.name() + "' (Div) divides by no square root", o.reason());
    }
}
