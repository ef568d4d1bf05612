package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** RMSNorm as PyTorch exports Hugging Face's LlamaRMSNorm, with and without the float Casts, and variants. */
class DecomposedRmsNormPatternTest {
    private static final int D = 64;

    /** Nodes in creation order; {@code castIn} null when not wrapped. */
    record Built(Value input, Node castIn, Node square, Node epsAdd, Node scaleMul, List<Node> nodes, Value gamma,
                 Value output) {
    }

    /**
     * hidden.to(float32); variance = hidden.pow(2).mean(-1, keepdim=True);
     * hidden = hidden * torch.rsqrt(variance + eps); weight * hidden.to(input_dtype)
     * (rsqrt exports as Sqrt then Reciprocal).
     */
    static Built llamaRmsNorm(GraphBuilder b, Value x, boolean castWrapped, String prefix) {
        Node castIn = null;
        Value h = x;
        if (castWrapped) {
            h = b.cast(x, DataType.FLOAT);
            castIn = h.producer();
        }
        DataType compute = castWrapped ? DataType.FLOAT : b.floatType();
        Value sq = b.op("Pow", h, b.constant(2.0, compute));
        Value var = b.reduceMeanAttr(sq, -1);
        Value ve = b.op("Add", var, b.constant(1e-5, compute));
        Value r = b.op("Reciprocal", b.op("Sqrt", ve));
        Value n = b.op("Mul", h, r);
        Value back = castWrapped ? b.cast(n, b.floatType()) : n;
        Value gamma = b.init(prefix + "weight", new double[D]);
        Value out = b.op("Mul", gamma, back);
        List<Node> nodes = new java.util.ArrayList<>();
        if (castIn != null) {
            nodes.add(castIn);
        }
        nodes.addAll(List.of(sq.producer(), var.producer(), ve.producer(), r.producer().input(0).producer(),
                r.producer(), n.producer()));
        if (castWrapped) {
            nodes.add(back.producer());
        }
        nodes.add(out.producer());
        return new Built(x, castIn, sq.producer(), ve.producer(), n.producer(), nodes, gamma, out);
    }

    private static NormSite only(GraphBuilder b) {
        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(1, sites.size(), "norms found: " + sites);
        return sites.get(0);
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "FLOAT16"})
    void huggingFaceLlamaWithCasts(DataType t) {
        GraphBuilder b = new GraphBuilder(t);
        Value x = b.input("x", 1, -1, D);
        Built n = llamaRmsNorm(b, x, true, "");
        b.output(b.op("Add", x, n.output()));

        NormSite s = only(b);
        assertEquals(NormKind.DECOMPOSED_RMS_NORM, s.kind());
        assertSame(n.castIn(), s.root(), "the Cast at the input is the root");
        assertSame(x, s.input(), "the input is the Cast's input");
        assertEquals(List.of(new Value.Use(n.castIn(), 0)), s.entryUses());
        assertEquals(n.nodes(), s.nodes());
        assertSame(n.gamma(), s.gamma());
        assertNull(s.beta());
        assertSame(n.output(), s.output());
        assertSame(n.epsAdd(), ((Epsilon.InTensor) s.epsilon()).addNode());
        assertEquals(1, ((Epsilon.InTensor) s.epsilon()).inputIndex());
        assertEquals((double) 1e-5f, s.epsilon().value(), "epsilon is a float32 constant inside the Casts");
        assertEquals(D, s.hiddenSize());
    }

    @ParameterizedTest
    @EnumSource(value = DataType.class, names = {"FLOAT", "FLOAT16"})
    void withoutCasts(DataType t) {
        GraphBuilder b = new GraphBuilder(t);
        Value x = b.input("x", 1, -1, D);
        Built n = llamaRmsNorm(b, x, false, "");
        b.output(n.output());

        NormSite s = only(b);
        assertSame(n.square(), s.root());
        assertSame(x, s.input());
        assertEquals(List.of(new Value.Use(n.square(), 0), new Value.Use(n.scaleMul(), 0)), s.entryUses());
        assertEquals(n.nodes(), s.nodes());
        assertSame(n.gamma(), s.gamma());
    }

    @Test
    void squareByMulDivisionAndGainOnTheRight() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        Value x = b.input("x", 1, -1, D);
        Node square = b.node("Mul", x, x);
        Value var = b.op("ReduceMean", List.of(Attribute.ofInt("keepdims", 1)), square.output(0), b.longsInit("axes", 2));
        Node div = b.node("Div", x, b.op("Sqrt", b.op("Add", b.constant(1e-6), var)));
        Value gamma = b.init("g", new double[D]);
        Value out = b.op("Mul", div.output(0), gamma);
        b.output(out);

        NormSite s = only(b);
        assertEquals(List.of(new Value.Use(square, 0), new Value.Use(square, 1), new Value.Use(div, 0)), s.entryUses());
        assertEquals(0, ((Epsilon.InTensor) s.epsilon()).inputIndex());
        assertSame(gamma, s.gamma());
        assertSame(out, s.output());
        assertEquals(6, s.nodes().size());
    }

    @Test
    void castBackAfterTheGain() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        Value x = b.input("x", 1, -1, D);
        Value h = b.cast(x, DataType.FLOAT);
        Value var = b.op("ReduceMean", List.of(), b.op("Pow", h, b.constantValueFloat(2f)), b.longsConstant(-1));
        Value n = b.op("Mul", b.op("Reciprocal", b.op("Sqrt", b.op("Add", var, b.constantValueFloat(1e-6f)))), h);
        Value gamma32 = b.graph().addInitializer("g", GraphBuilder.floats(DataType.FLOAT, new long[] {D}, new double[D]));
        Value out = b.cast(b.op("Mul", n, gamma32), DataType.FLOAT16);
        b.output(out);

        NormSite s = only(b);
        assertSame(h.producer(), s.root());
        assertSame(gamma32, s.gamma());
        assertSame(out, s.output());
        assertEquals(9, s.nodes().size());
    }

    @Test
    void powMinusHalfInsteadOfSqrt() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, D);
        Value var = b.reduceMeanAttr(b.op("Pow", x, b.constant(2)), -1);
        Value n = b.op("Mul", x, b.op("Pow", b.op("Add", var, b.constant(1e-6)), b.constant(-0.5)));
        b.output(b.op("Mul", n, b.init("g", new double[D])));
        NormSite s = only(b);
        assertEquals(NormKind.DECOMPOSED_RMS_NORM, s.kind());
        assertEquals(6, s.nodes().size());
    }

    @Test
    void castOutputReadElsewhereMovesTheRootToTheSquare() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        Value x = b.input("x", 1, -1, D);
        Built n = llamaRmsNorm(b, x, true, "");
        Value h = n.castIn().output(0);
        b.output(n.output());
        b.output(b.op("Relu", h)); // the float copy of x feeds something else too

        NormSite s = only(b);
        assertSame(n.square(), s.root());
        assertSame(h, s.input());
        assertEquals(new HashSet<>(n.nodes().subList(1, n.nodes().size())), new HashSet<>(s.nodes()));
    }

    @Test
    void escapingMeanSquareRejectsTheMatch() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, D);
        Built n = llamaRmsNorm(b, x, true, "");
        b.output(n.output());
        b.output(n.epsAdd().input(0)); // the mean square is a graph output
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
    }

    @ParameterizedTest
    @ValueSource(doubles = {3.0, 1.0, 0.5})
    void onlyASquareStartsAnRmsNorm(double exponent) {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, D);
        Value var = b.reduceMeanAttr(b.op("Pow", x, b.constant(exponent)), -1);
        b.output(b.op("Div", x, b.op("Sqrt", b.op("Add", var, b.constant(1e-6)))));
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
    }

    @Test
    void divisionOfAnotherValueIsNoNorm() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, D);
        Value y = b.input("y", 1, -1, D);
        Value var = b.reduceMeanAttr(b.op("Pow", x, b.constant(2)), -1);
        b.output(b.op("Div", y, b.op("Sqrt", b.op("Add", var, b.constant(1e-6)))));
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
    }
}
