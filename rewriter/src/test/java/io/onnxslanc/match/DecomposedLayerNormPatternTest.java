package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** LayerNorm as PyTorch exports it (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) and its variants. */
class DecomposedLayerNormPatternTest {
    private static final int D = 16;

    /** How the test spells the norm. */
    enum Axes { ATTRIBUTE_NEGATIVE, ATTRIBUTE_POSITIVE, INPUT_INITIALIZER, INPUT_CONSTANT }

    record Spelling(Axes axes, boolean squareByMul, boolean reciprocal, boolean gammaFirst, boolean betaFirst,
                    boolean epsFirst, boolean withAffine) {
        static Spelling torch() {
            return new Spelling(Axes.ATTRIBUTE_NEGATIVE, false, false, false, false, false, true);
        }
    }

    /** The nodes of one built norm, in the order the test created them. */
    record Built(Value input, List<Node> nodes, Node mean, Node sub, Node epsAdd, Value eps, Value gamma, Value beta,
                 Value output) {
    }

    private static Value mean(GraphBuilder b, Value v, Axes axes) {
        return switch (axes) {
            case ATTRIBUTE_NEGATIVE -> b.reduceMeanAttr(v, -1);
            case ATTRIBUTE_POSITIVE -> b.reduceMeanAttr(v, 2);
            case INPUT_INITIALIZER -> b.op("ReduceMean", List.of(Attribute.ofInt("keepdims", 1)), v,
                    b.graph().lookup("axes") != null ? b.graph().lookup("axes") : b.longsInit("axes", -1));
            case INPUT_CONSTANT -> b.op("ReduceMean", List.of(), v, b.longsConstant(-1));
        };
    }

    static Built layerNorm(GraphBuilder b, Value x, Spelling s, Value eps, String prefix) {
        List<Node> nodes = new ArrayList<>();
        Function<Value, Value> track = v -> {
            nodes.add(v.producer());
            return v;
        };
        Value m = track.apply(mean(b, x, s.axes()));
        Value d = track.apply(b.op("Sub", x, m));
        Value sq = track.apply(s.squareByMul() ? b.op("Mul", d, d) : b.op("Pow", d, b.constant(2.0)));
        Value var = track.apply(mean(b, sq, s.axes()));
        Value ve = track.apply(s.epsFirst() ? b.op("Add", eps, var) : b.op("Add", var, eps));
        Value std = track.apply(b.op("Sqrt", ve));
        Value n;
        if (s.reciprocal()) {
            Value r = track.apply(b.op("Reciprocal", std));
            n = track.apply(b.op("Mul", r, d));
        } else {
            n = track.apply(b.op("Div", d, std));
        }
        Value gamma = null;
        Value beta = null;
        Value out = n;
        if (s.withAffine()) {
            gamma = b.init(prefix + "gamma", new double[D]);
            beta = b.init(prefix + "beta", new double[D]);
            out = track.apply(s.gammaFirst() ? b.op("Mul", gamma, out) : b.op("Mul", out, gamma));
            out = track.apply(s.betaFirst() ? b.op("Add", beta, out) : b.op("Add", out, beta));
        }
        return new Built(x, nodes, m.producer(), d.producer(), ve.producer(), eps, gamma, beta, out);
    }

    private static NormSite only(GraphBuilder b) {
        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(1, sites.size(), "norms found: " + sites);
        return sites.get(0);
    }

    private static void assertSite(Built n, NormSite s) {
        assertEquals(NormKind.DECOMPOSED_LAYER_NORM, s.kind());
        assertSame(n.mean(), s.root());
        assertSame(n.input(), s.input());
        assertEquals(List.of(new Value.Use(n.mean(), 0), new Value.Use(n.sub(), 0)), s.entryUses());
        assertEquals(new java.util.HashSet<>(n.nodes()), new java.util.HashSet<>(s.nodes()));
        assertEquals(n.nodes().size(), s.nodes().size());
        assertSame(n.gamma(), s.gamma());
        assertSame(n.beta(), s.beta());
        assertSame(n.output(), s.output());
        assertEquals(List.of(), s.sideOutputs());
        assertEquals(D, s.hiddenSize());
        Epsilon.InTensor eps = (Epsilon.InTensor) s.epsilon();
        assertSame(n.epsAdd(), eps.addNode());
        assertSame(n.eps(), n.epsAdd().input(eps.inputIndex()));
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "FLOAT16"})
    void torchExportInBothPrecisions(DataType t) {
        GraphBuilder b = new GraphBuilder(t);
        Value x = b.input("x", -1, 5, D);
        Built n = layerNorm(b, x, Spelling.torch(), b.constant(1e-5), "");
        b.output(b.op("Add", x, n.output())); // residual: x has a consumer outside the norm

        NormSite s = only(b);
        assertSite(n, s);
        double expectedEps = t == DataType.FLOAT ? (float) 1e-5 : 1.0013580322265625e-5; // nearest FP16 to 1e-5
        assertEquals(expectedEps, s.epsilon().value());
    }

    @Test
    void everyOperandOrderOfTheCommutativeOps() {
        for (int mask = 0; mask < 8; mask++) {
            GraphBuilder b = new GraphBuilder(DataType.FLOAT);
            Value x = b.input("x", -1, 5, D);
            Spelling sp = new Spelling(Axes.ATTRIBUTE_NEGATIVE, false, false, (mask & 1) != 0, (mask & 2) != 0,
                    (mask & 4) != 0, true);
            Built n = layerNorm(b, x, sp, b.scalarInit("eps", 1e-12), "");
            b.output(n.output());
            NormSite s = only(b);
            assertSite(n, s);
            assertEquals((mask & 4) != 0 ? 0 : 1, ((Epsilon.InTensor) s.epsilon()).inputIndex());
        }
    }

    @Test
    void squareAsMulAndReciprocalThenMul() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        Value x = b.input("x", -1, 5, D);
        Built n = layerNorm(b, x, new Spelling(Axes.ATTRIBUTE_NEGATIVE, true, true, false, false, false, true),
                b.constant(1e-5), "");
        b.output(n.output());
        assertSite(n, only(b));
    }

    @ParameterizedTest
    @EnumSource(Axes.class)
    void axesAsAttributeOrInputNegativeOrPositive(Axes axes) {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 5, D); // rank 3 known, so axis 2 is the last one
        Built n = layerNorm(b, x, new Spelling(axes, false, false, false, false, false, true), b.constant(1e-5), "");
        b.output(n.output());
        assertSite(n, only(b));
    }

    @Test
    void positiveAxisNeedsAKnownRank() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x"); // rank unknown: axis 2 may not be the last one
        Built n = layerNorm(b, x, new Spelling(Axes.ATTRIBUTE_POSITIVE, false, false, false, false, false, true),
                b.constant(1e-5), "");
        b.output(n.output());
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
    }

    @Test
    void reductionOverAnotherAxisOrWithoutKeepdimsIsNoLayerNorm() {
        for (List<Attribute> attrs : List.of(
                List.of(Attribute.ofInts("axes", 1)),
                List.of(Attribute.ofInts("axes", -1, -2)),
                List.of(Attribute.ofInts("axes", -1), Attribute.ofInt("keepdims", 0)))) {
            GraphBuilder b = new GraphBuilder(DataType.FLOAT);
            Value x = b.input("x", 2, 5, D);
            Value m = b.op("ReduceMean", attrs, x);
            Value d = b.op("Sub", x, m);
            Value var = b.reduceMeanAttr(b.op("Pow", d, b.constant(2)), -1);
            Value n = b.op("Div", d, b.op("Sqrt", b.op("Add", var, b.constant(1e-5))));
            b.output(n);
            assertEquals(List.of(), NormMatcher.findAll(b.graph()).stream()
                    .filter(s -> s.kind() == NormKind.DECOMPOSED_LAYER_NORM).toList(), attrs.toString());
        }
    }

    @Test
    void sharedEpsilonConstantServesTwoNorms() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", -1, 5, D);
        Value eps = b.constantValueFloat(1e-12f); // one Constant node read by both norms
        Built first = layerNorm(b, x, Spelling.torch(), eps, "a_");
        Built second = layerNorm(b, b.op("Relu", first.output()), Spelling.torch(), eps, "b_");
        b.output(second.output());

        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(2, sites.size());
        assertSite(first, sites.get(0));
        assertSite(second, sites.get(1));
        assertEquals((double) 1e-12f, sites.get(0).epsilon().value());
        assertEquals((double) 1e-12f, sites.get(1).epsilon().value());
    }

    @Test
    void escapingIntermediateRejectsTheMatch() {
        // the square of the deviation is read by someone else: rescaling the input would change that reader
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", -1, 5, D);
        Built n = layerNorm(b, x, Spelling.torch(), b.constant(1e-5), "");
        b.output(n.output());
        b.output(b.op("Relu", n.nodes().get(2).output(0)));
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));

        // variance + eps is a graph output
        GraphBuilder b2 = new GraphBuilder(DataType.FLOAT);
        Value x2 = b2.input("x", -1, 5, D);
        Built n2 = layerNorm(b2, x2, Spelling.torch(), b2.constant(1e-5), "");
        b2.output(n2.output());
        b2.output(n2.epsAdd().output(0));
        assertEquals(List.of(), NormMatcher.findAll(b2.graph()));
    }

    @Test
    void escapingDeviationLeavesAnRmsNormOfTheDeviation() {
        // x - mean read elsewhere: no LayerNorm of x, but what follows is exactly an RMSNorm of x - mean
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", -1, 5, D);
        Built n = layerNorm(b, x, Spelling.torch(), b.constant(1e-5), "");
        b.output(n.output());
        b.output(b.op("Relu", n.sub().output(0)));
        NormSite s = only(b);
        assertEquals(NormKind.DECOMPOSED_RMS_NORM, s.kind());
        assertSame(n.sub().output(0), s.input());
    }

    @Test
    void withoutGainTheNormEndsAtTheDivision() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", -1, 5, D);
        Built n = layerNorm(b, x, new Spelling(Axes.ATTRIBUTE_NEGATIVE, false, false, false, false, false, false),
                b.constant(1e-5), "");
        Value act = b.input("act", -1, 5, D);
        b.output(b.op("Mul", n.output(), act)); // times an activation: no gain
        NormSite s = only(b);
        assertSame(n.output(), s.output());
        assertNull(s.gamma());
        assertNull(s.beta());
        assertEquals(D, s.hiddenSize(), "from the input's last dimension");
    }

    @Test
    void statisticsReadOutsideAreSideOutputs() {
        // ONNX's expanded LayerNormalization returns the mean and the inverse standard deviation
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", -1, 5, D);
        Built n = layerNorm(b, x, Spelling.torch(), b.constant(1e-5), "");
        Value std = n.nodes().get(5).output(0);
        b.output(n.output());
        b.output(n.mean().output(0));
        b.output(b.op("Reciprocal", std));
        NormSite s = only(b);
        assertEquals(List.of(n.mean().output(0), std), s.sideOutputs());
        assertEquals(n.nodes().size(), s.nodes().size());
    }

    @Test
    void gainMayBeAConstantNodeAndEpsilonAnInitializer() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", -1, 5, D);
        Value m = b.reduceMeanAttr(x, -1);
        Value d = b.op("Sub", x, m);
        Value var = b.reduceMeanAttr(b.op("Pow", d, b.scalarInit("two", 2)), -1);
        Value n = b.op("Div", d, b.op("Sqrt", b.op("Add", var, b.scalarInit("eps", 1e-5))));
        Value gamma = b.constant(3.0);
        Value out = b.op("Mul", n, gamma);
        b.output(out);
        NormSite s = only(b);
        assertSame(gamma, s.gamma());
        assertSame(out, s.output());
        assertEquals(D, s.hiddenSize(), "a scalar gain broadcasts: d comes from the input");
    }
}
