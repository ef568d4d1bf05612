package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.canon.ConstantFolder;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * Every spelling the canonical view knows, built with the test GraphBuilder, is matched as the right semantic form,
 * with the epsilon and gain values the test computes itself (synthetic graphs). Near misses are reported as
 * candidates with the failing step.
 */
class CanonicalSpellingsTest {
    private static final int D = 8;
    private static final double EPS = 1e-5;
    private static final double[] W = {0.5, -1, 2, 0.25, 1.5, -0.75, 3, 1};

    /** One way to write 1 / sqrt(v), given the builder and v. */
    enum Rsqrt {
        DIV_ONE_SQRT((b, v) -> b.op("Div", b.constant(1.0), b.op("Sqrt", v))),
        RECIPROCAL_SQRT((b, v) -> b.op("Reciprocal", b.op("Sqrt", v))),
        POW_MINUS_HALF((b, v) -> b.op("Pow", v, b.constant(-0.5))),
        RECIPROCAL_POW_HALF((b, v) -> b.op("Reciprocal", b.op("Pow", v, b.constant(0.5)))),
        POW_MINUS_ONE_OF_SQRT((b, v) -> b.op("Pow", b.op("Sqrt", v), b.constant(-1.0))),
        SQRT_OF_RECIPROCAL((b, v) -> b.op("Sqrt", b.op("Div", b.constant(1.0), v)));

        final BiFunction<GraphBuilder, Value, Value> write;

        Rsqrt(BiFunction<GraphBuilder, Value, Value> write) {
            this.write = write;
        }
    }

    /** One way to write mean(x^2) over the last axis. */
    enum MeanSquare {
        POW_REDUCEMEAN_ATTR, MUL_REDUCEMEAN_INPUT, REDUCESUM_DIV_D, REDUCESUM_TIMES_INV_D, IDENTITY_AND_CAST_BETWEEN
    }

    private static Value meanSquare(GraphBuilder b, Value x, MeanSquare how) {
        return switch (how) {
            case POW_REDUCEMEAN_ATTR -> b.reduceMeanAttr(b.op("Pow", x, b.constant(2.0)), -1);
            case MUL_REDUCEMEAN_INPUT -> b.op("ReduceMean", List.of(), b.op("Mul", x, x), b.longsConstant(-1));
            case REDUCESUM_DIV_D -> b.op("Div", b.op("ReduceSum", List.of(), b.op("Mul", x, x), b.longsConstant(-1)),
                    b.constant(D));
            case REDUCESUM_TIMES_INV_D -> b.op("Mul", b.constant(1.0 / D),
                    b.op("ReduceSum", List.of(), b.op("Pow", x, b.constant(2.0)), b.longsConstant(-1)));
            case IDENTITY_AND_CAST_BETWEEN -> b.reduceMeanAttr(b.op("Identity",
                    b.cast(b.op("Pow", b.op("Identity", x), b.constant(2.0)), DataType.FLOAT)), -1);
        };
    }

    private static NormSite only(GraphBuilder b) {
        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(1, sites.size(), "norms found: " + sites);
        assertEquals(List.of(), NormCandidates.unmatched(b.graph(), sites), "no candidate left over");
        return sites.get(0);
    }

    @ParameterizedTest
    @EnumSource(Rsqrt.class)
    void everyRsqrtSpellingIsOneRmsNorm(Rsqrt how) {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, D);
        Value ve = b.op("Add", b.constant(EPS), meanSquare(b, x, MeanSquare.POW_REDUCEMEAN_ATTR));
        Value w = b.init("w", W);
        Value out = b.op("Mul", w, b.op("Mul", how.write.apply(b, ve), x));
        b.output(out);
        NormSite s = only(b);
        assertEquals(NormKind.DECOMPOSED_RMS_NORM, s.kind());
        assertEquals((float) EPS, s.epsilon().value(), 0);
        assertSame(w, s.gamma());
        assertSame(out, s.output());
        assertSame(x, s.input());
        assertEquals(D, s.hiddenSize());
    }

    @ParameterizedTest
    @EnumSource(MeanSquare.class)
    void everyMeanOfSquaresSpellingIsOneRmsNorm(MeanSquare how) {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, D);
        Value ve = b.op("Add", meanSquare(b, x, how), b.scalarInit("eps", EPS));
        b.output(b.op("Mul", b.op("Div", x, b.op("Sqrt", ve)), b.init("w", W)));
        NormSite s = only(b);
        assertEquals(NormKind.DECOMPOSED_RMS_NORM, s.kind());
        assertEquals((float) EPS, s.epsilon().value(), 0);
        assertEquals(1, ((Epsilon.InTensor) s.epsilon()).inputIndex());
    }

    @Test
    void gemmaOnePlusWeightGainIsEvaluated() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, D);
        Value ve = b.op("Add", meanSquare(b, x, MeanSquare.POW_REDUCEMEAN_ATTR), b.constant(EPS));
        Value w = b.init("gemma.weight", W);
        Value gain = b.op("Add", b.constant(1.0), w);
        b.output(b.op("Mul", b.op("Mul", x, b.op("Pow", ve, b.constant(-0.5))), gain));
        NormSite s = only(b);
        assertSame(gain, s.gamma());
        assertEquals("gemma.weight", s.gainName());
        double[] expected = new double[D];
        for (int i = 0; i < D; i++) {
            expected[i] = 1 + W[i];
        }
        assertArrayEquals(expected, ConstantFolder.value(s.gamma()).toDoubles(), 0);
    }

    @Test
    void scaledAndCastGainIsEvaluated() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        Value x = b.input("x", 1, -1, D);
        Value h = b.cast(x, DataType.FLOAT); // HF: hidden.to(float32)
        Value ve = b.op("Add", meanSquare(b, h, MeanSquare.POW_REDUCEMEAN_ATTR), b.constant(EPS, DataType.FLOAT));
        Value n = b.cast(b.op("Mul", h, b.op("Div", b.constant(1.0, DataType.FLOAT), b.op("Sqrt", ve))), DataType.FLOAT16);
        Value gain = b.op("Mul", b.init("w", W), b.constant(4.0));
        b.output(b.op("Mul", gain, n));
        NormSite s = only(b);
        assertSame(x, s.input(), "the up-cast belongs to the norm");
        for (int i = 0; i < D; i++) {
            assertEquals(4 * W[i], ConstantFolder.value(s.gamma()).toDoubles()[i], 0);
        }
    }

    @Test
    void layerNormWithEpsilonFirstMeanAsReduceSumOverDAndCastWrappers() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 5, D);
        Value m = b.op("Div", b.op("ReduceSum", List.of(), x, b.longsConstant(2)), b.constant(D));
        Value d = b.op("Sub", x, m);
        Value var = b.reduceMeanAttr(b.op("Mul", d, d), -1);
        Value n = b.op("Mul", b.op("Reciprocal", b.op("Sqrt", b.op("Add", b.constant(1e-12), var))), d);
        Value w = b.init("ln.weight", W);
        Value beta = b.init("ln.bias", W);
        Value out = b.op("Add", beta, b.op("Mul", n, w));
        b.output(out);
        NormSite s = only(b);
        assertEquals(NormKind.DECOMPOSED_LAYER_NORM, s.kind());
        assertEquals((float) 1e-12, s.epsilon().value(), 0);
        assertEquals(0, ((Epsilon.InTensor) s.epsilon()).inputIndex());
        assertSame(w, s.gamma());
        assertSame(beta, s.beta());
        assertSame(m.producer().input(0).producer(), s.root(), "the ReduceSum of the mean comes first");
    }

    @Test
    void layerNormWithoutBiasAndRmsNormWithoutGain() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 5, D);
        Value m = b.reduceMeanAttr(x, -1);
        Value d = b.op("Sub", x, m);
        Value ln = b.op("Mul", b.op("Div", d, b.op("Sqrt", b.op("Add", b.reduceMeanAttr(b.op("Pow", d, b.constant(2.0)), -1),
                b.constant(EPS)))), b.init("g", W));
        Value rms = b.op("Div", ln, b.op("Sqrt", b.op("Add", meanSquare(b, ln, MeanSquare.POW_REDUCEMEAN_ATTR), b.constant(EPS))));
        b.output(b.op("Relu", rms));
        List<NormSite> sites = NormMatcher.findAll(b.graph());
        assertEquals(2, sites.size());
        assertEquals(NormKind.DECOMPOSED_LAYER_NORM, sites.get(0).kind());
        assertNull(sites.get(0).beta());
        assertEquals(NormKind.DECOMPOSED_RMS_NORM, sites.get(1).kind());
        assertNull(sites.get(1).gamma());
        assertEquals(D, sites.get(1).hiddenSize(), "from the static last dim, followed back through untyped values");
    }

    @Test
    void nearMissOverTheWrongAxisIsACandidateWithTheReason() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 5, D);
        Value ms = b.op("ReduceMean", List.of(Attribute.ofInts("axes", 1)), b.op("Pow", x, b.constant(2.0)));
        Value root = b.op("Sqrt", b.op("Add", ms, b.constant(EPS)));
        b.output(b.op("Div", x, root));
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
        List<NormCandidates.Candidate> c = NormCandidates.unmatched(b.graph(), List.of());
        assertEquals(1, c.size());
        assertEquals(root.producer().name(), c.get(0).node());
        assertEquals(root.name(), c.get(0).output());
        assertEquals("decomposed RMSNorm at '" + root.uses().get(0).node().name()
                + "': the variance is a mean over axes [1], not over the last axis", c.get(0).reason());
    }

    @Test
    void rootOfAMeanSquareOfAnotherValueIsACandidate() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 5, D);
        Value y = b.input("y", 2, 5, D);
        Value root = b.op("Sqrt", b.op("Add", meanSquare(b, y, MeanSquare.POW_REDUCEMEAN_ATTR), b.constant(EPS)));
        b.output(b.op("Div", x, root));
        List<NormCandidates.Candidate> c = NormCandidates.unmatched(b.graph(), NormMatcher.findAll(b.graph()));
        assertEquals(1, c.size());
        assertTrue(c.get(0).reason().contains("the variance is the mean square of")
                && c.get(0).reason().contains("not of the normalised value input 'x'"), c.get(0).reason());
    }

    @Test
    void aSumOfSquaresNotDividedByDIsACandidate() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, 5, D);
        Value ss = b.op("ReduceSum", List.of(), b.op("Mul", x, x), b.longsConstant(-1));
        b.output(b.op("Mul", x, b.op("Pow", b.op("Add", ss, b.constant(EPS)), b.constant(-0.5))));
        List<NormCandidates.Candidate> c = NormCandidates.unmatched(b.graph(), NormMatcher.findAll(b.graph()));
        assertEquals(1, c.size());
        assertTrue(c.get(0).reason().endsWith("the variance is a ReduceSum over axes [-1] not divided by the number of "
                + "elements (" + D + ")"), c.get(0).reason());
    }

    @Test
    void aFusedNormInAnUnknownDomainIsACandidate() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 2, D);
        var n = b.nodeIn("org.example", "LayerNormalization", 1, x, b.init("g", W));
        b.output(n.output(0));
        List<NormCandidates.Candidate> c = NormCandidates.unmatched(b.graph(), NormMatcher.findAll(b.graph()));
        assertEquals(1, c.size());
        assertEquals("org.example:LayerNormalization", c.get(0).op());
    }
}
