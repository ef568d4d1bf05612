package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** The fused norm ops, each built as one node in FP32 and FP16 graphs. */
class FusedNormPatternsTest {

    private static NormSite only(GraphBuilder b) {
        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(1, sites.size(), "norms found: " + sites);
        return sites.get(0);
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "FLOAT16"})
    void layerNormalizationWithAttributesInBothPrecisions(DataType t) {
        GraphBuilder b = new GraphBuilder(t);
        Value x = b.input("x", -1, 8, 16);
        Value scale = b.init("scale", new double[16]);
        Value bias = b.init("bias", new double[16]);
        Node ln = b.node("LayerNormalization", x, scale, bias);
        ln.setAttribute(Attribute.ofInt("axis", -1));
        ln.setAttribute(Attribute.ofFloat("epsilon", 1e-6f));
        Value residual = b.op("Add", x, ln.output(0)); // x has a second consumer outside the norm
        b.output(residual);

        NormSite s = only(b);
        assertEquals(NormKind.LAYER_NORMALIZATION, s.kind());
        assertSame(ln, s.root());
        assertSame(x, s.input());
        assertNull(s.skip());
        assertEquals(List.of(new Value.Use(ln, 0)), s.entryUses());
        assertSame(scale, s.gamma());
        assertSame(bias, s.beta());
        assertEquals(new Epsilon.InAttribute(ln, "epsilon", 1e-6f), s.epsilon());
        assertEquals(16, s.hiddenSize());
        assertEquals(List.of(ln), s.nodes());
        assertSame(ln.output(0), s.output());
        assertEquals(List.of(), s.sideOutputs());
    }

    @Test
    void layerNormalizationDefaultsAndMultiAxisGainAndUsedStatistics() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 4, 8);
        Value scale = b.graph().addInitializer("scale",
                GraphBuilder.floats(DataType.FLOAT, new long[] {4, 8}, new double[32]));
        Node ln = b.nodeIn("", "LayerNormalization", 3, x, scale);
        ln.setAttribute(Attribute.ofInt("axis", 1));
        b.output(ln.output(0));
        b.output(ln.output(1)); // Mean is read: it changes when the input is rescaled

        NormSite s = only(b);
        assertEquals(new Epsilon.InAttribute(ln, "epsilon", 1e-5f), s.epsilon(), "ONNX default epsilon");
        assertNull(s.beta());
        assertEquals(32, s.hiddenSize(), "d = elements of the gain for a norm over axes 1..2");
        assertEquals(List.of(ln.output(1)), s.sideOutputs());
    }

    @Test
    void hiddenSizeFromInputShapeWhenGainIsComputed() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 3, 24);
        Value g = b.input("g"); // unknown shape
        Node ln = b.node("LayerNormalization", x, b.op("Relu", g));
        b.output(ln.output(0));
        NormSite s = only(b);
        assertEquals(24, s.hiddenSize());
        assertSame(ln.input(1), s.gamma(), "a computed gain is reported as the operand itself");
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "FLOAT16"})
    void rmsNormalization(DataType t) {
        GraphBuilder b = new GraphBuilder(t);
        Value x = b.input("x", 1, 5, 64);
        Value scale = b.init("scale", new double[64]);
        Node n = b.node("RMSNormalization", x, scale);
        n.setAttribute(Attribute.ofFloat("epsilon", 1e-6f));
        n.setAttribute(Attribute.ofInt("stash_type", 1));
        b.output(n.output(0));

        NormSite s = only(b);
        assertEquals(NormKind.RMS_NORMALIZATION, s.kind());
        assertTrue(s.kind().isRms());
        assertSame(scale, s.gamma());
        assertNull(s.beta());
        assertEquals(1e-6f, s.epsilon().value());
        assertEquals(64, s.hiddenSize());
        assertEquals(List.of(new Value.Use(n, 0)), s.entryUses());
    }

    @Test
    void simplifiedLayerNormalizationInDefaultAndMicrosoftDomainOnly() {
        for (String domain : List.of("", "com.microsoft", "org.example")) {
            GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
            Value x = b.input("x", 2, 32);
            Node n = b.nodeIn(domain, "SimplifiedLayerNormalization", 1, x, b.init("w", new double[32]));
            b.output(n.output(0));
            List<NormSite> sites = NormMatcher.findAll(b.graph());
            if (domain.equals("org.example")) {
                assertEquals(List.of(), sites, "an op of an unknown domain is not ORT's");
            } else {
                assertEquals(1, sites.size(), domain);
                assertEquals(NormKind.SIMPLIFIED_LAYER_NORMALIZATION, sites.get(0).kind());
                assertEquals(1e-5f, sites.get(0).epsilon().value(), "default epsilon");
                assertEquals(32, sites.get(0).hiddenSize());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "FLOAT16"})
    void skipLayerNormalizationIncludesSkipUseAndReportsResidualSum(DataType t) {
        GraphBuilder b = new GraphBuilder(t);
        Value x = b.input("x", 1, 7, 32);
        Value skip = b.input("skip", 1, 7, 32);
        Value gamma = b.init("gamma", new double[32]);
        Value beta = b.init("beta", new double[32]);
        Value bias = b.init("bias", new double[32]);
        Node n = b.nodeIn("com.microsoft", "SkipLayerNormalization", 4, x, skip, gamma, beta, bias);
        Value next = b.op("Add", n.output(3), n.output(0)); // the residual sum feeds the next block
        b.output(next);

        NormSite s = only(b);
        assertEquals(NormKind.SKIP_LAYER_NORMALIZATION, s.kind());
        assertSame(x, s.input());
        assertSame(skip, s.skip());
        assertEquals(List.of(new Value.Use(n, 0), new Value.Use(n, 1)), s.entryUses());
        assertSame(gamma, s.gamma());
        assertSame(beta, s.beta());
        assertEquals(new Epsilon.InAttribute(n, "epsilon", 1e-12f), s.epsilon(), "ORT's default for Skip* ops");
        assertEquals(List.of(n.output(3)), s.sideOutputs());
        assertEquals(32, s.hiddenSize());
    }

    @Test
    void skipSimplifiedLayerNormalizationHasNoBeta() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        Value x = b.input("x", 1, 7, 32);
        Value skip = b.input("skip", 1, 7, 32);
        Value gamma = b.init("gamma", new double[32]);
        Value bias = b.init("bias", new double[32]);
        Node n = b.nodeIn("com.microsoft", "SkipSimplifiedLayerNormalization", 4, x, skip, gamma, bias);
        n.setAttribute(Attribute.ofFloat("epsilon", 1e-6f));
        b.output(n.output(0));

        NormSite s = only(b);
        assertEquals(NormKind.SKIP_SIMPLIFIED_LAYER_NORMALIZATION, s.kind());
        assertSame(gamma, s.gamma());
        assertNull(s.beta(), "input 3 is the bias added before the norm, not a beta");
        assertEquals(List.of(new Value.Use(n, 0), new Value.Use(n, 1)), s.entryUses());
        assertEquals(1e-6f, s.epsilon().value());
        assertEquals(List.of(), s.sideOutputs());
    }

    @Test
    void skipOpsOutsideMicrosoftDomainAreNotMatched() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, 32);
        Node n = b.nodeIn("", "SkipLayerNormalization", 1, x, x, b.init("g", new double[32]));
        b.output(n.output(0));
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
    }

    @Test
    void gainBehindCastIsTracedToItsInitializer() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 16);
        Value g16 = b.graph().addInitializer("g16", GraphBuilder.floats(DataType.FLOAT16, new long[] {16}, new double[16]));
        Node n = b.node("LayerNormalization", x, b.cast(g16, DataType.FLOAT));
        b.output(n.output(0));
        assertSame(g16, only(b).gamma());
    }
}
