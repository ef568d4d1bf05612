package io.onnxslanc.rewrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.NormCalibration;
import io.onnxslanc.calibrate.SlancCalibrator;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.calibrate.TestGraph;
import io.onnxslanc.calibrate.Transformers;
import io.onnxslanc.calibrate.blocks.BlockFinder;
import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Epsilon;
import io.onnxslanc.match.NormKind;
import io.onnxslanc.match.NormSite;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Where the rewrite puts its Muls, what it does to epsilon, and that it runs once. */
class SlancRewriteTest {

    private static List<NormCalibration> calibrations(TestGraph t) {
        return SlancCalibrator.compute(BlockFinder.findAll(t.g, t.sites), SlancOptions.defaults());
    }

    /** The uses of a value that are not in {@code entry}: the residual stream's other consumers. */
    private static List<Value.Use> otherUses(NormSite s) {
        List<Value.Use> out = new ArrayList<>(s.input().uses());
        out.removeAll(s.entryUses());
        return out;
    }

    private static NormCalibration fixed(NormSite site, double s) {
        NormBlock b = new NormBlock.Attention(site, null, null, Map.of(), new NormBlock.Heads(0, 0, false, null));
        return new NormCalibration(b, null, s, null);
    }

    @Test
    void mulGoesOnTheEntryEdgesOnlyAndEpsilonIsRescaled() {
        TestGraph t = Transformers.llama(21);
        Map<NormSite, List<Value.Use>> others = new IdentityHashMap<>();
        for (NormSite s : t.sites) {
            others.put(s, otherUses(s));
        }
        List<NormCalibration> cal = calibrations(t);
        List<SlancRewrite.Applied> applied = SlancRewrite.apply(t.model, cal);
        t.g.verify();
        assertEquals(SlancRewrite.VERSION, t.model.metadata().get(SlancRewrite.MARKER));

        for (int i = 0; i < cal.size(); i++) {
            NormSite s = cal.get(i).block().site();
            Node root = s.root();
            if (!cal.get(i).changesModel()) {
                assertSame(s.input(), root.input(0), "first norm (s = 1) is untouched");
                assertEquals(1e-5f, root.floatAttr("epsilon", 0));
                continue;
            }
            double scale = cal.get(i).scale();
            Value scaled = root.input(0);
            Node mul = scaled.producer();
            assertEquals("Mul", mul.opType());
            assertEquals(SlancRewrite.MUL_PREFIX + s.name(), mul.name());
            assertSame(s.input(), mul.input(0), "the Mul reads the unscaled residual stream");
            assertEquals(1 / scale, mul.input(1).constant().toDoubles()[0], 0);
            assertEquals(DataType.FLOAT, mul.input(1).constant().dataType());
            assertEquals(0, mul.input(1).constant().dims().length, "a scalar constant");
            List<Node> nodes = t.g.nodes();
            assertEquals(nodes.indexOf(root) - 1, nodes.indexOf(mul), "the Mul sits right before the norm");
            // every other consumer of x still reads x itself
            List<Value.Use> rest = new ArrayList<>(s.input().uses());
            rest.removeIf(u -> u.node() == mul);
            assertEquals(others.get(s), rest);
            assertEquals(List.of(new Value.Use(root, 0)), scaled.uses());
            float expectedEps = (float) (1e-5f / (scale * scale));
            assertEquals(expectedEps, root.floatAttr("epsilon", 0));
            assertEquals(expectedEps, applied.get(i).epsilonAfter(), 0);
        }
    }

    @Test
    void decomposedNormsGetTheirOwnEpsilonConstant() {
        TestGraph t = Transformers.bert(22);
        Value shared = t.g.lookup("eps_shared");
        List<NormCalibration> cal = calibrations(t);
        SlancRewrite.apply(t.model, cal);
        t.g.verify();
        assertEquals(1e-12f, (float) shared.constant().toDoubles()[0], "the shared epsilon constant is never edited");
        List<Value> newEps = new ArrayList<>();
        for (NormCalibration c : cal) {
            NormSite s = c.block().site();
            if (s.kind() != NormKind.DECOMPOSED_LAYER_NORM) {
                continue;
            }
            Epsilon.InTensor e = (Epsilon.InTensor) s.epsilon();
            Value eps = e.addNode().input(e.inputIndex());
            assertNotSame(shared, eps);
            newEps.add(eps);
            double scale = c.scale();
            assertEquals((float) (1e-12f / (scale * scale)), (float) eps.constant().toDoubles()[0]);
            // both entry edges (ReduceMean and Sub) read the one Mul
            Value scaled = s.root().input(0);
            assertEquals(SlancRewrite.MUL_PREFIX + s.name(), scaled.producer().name());
            assertSame(scaled, s.nodes().get(1).input(0));
        }
        assertEquals(2, newEps.size());
        assertNotSame(newEps.get(0), newEps.get(1));
    }

    @Test
    void fp16EpsilonUnderflowIsReported() {
        TestGraph t = new TestGraph(23);
        Value x = t.g.addInput("x", TensorType.of(DataType.FLOAT16, 1, 3, 8));
        ByteBuffer half = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) 0x00a8); // 1.0014e-05
        Value eps = t.g.addInitializer("eps16", new ArrayTensor(DataType.FLOAT16, new long[0], half));
        ByteBuffer ones = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 8; i++) {
            ones.putShort((short) 0x3c00);
        }
        ones.flip();
        Value gamma = t.g.addInitializer("g16", new ArrayTensor(DataType.FLOAT16, new long[] {8}, ones));
        Value beta = t.g.addInitializer("b16", new ArrayTensor(DataType.FLOAT16, new long[] {8}, ByteBuffer.allocate(16)));
        NormSite s = t.decomposedLayerNorm("ln16", x, gamma, beta, eps, 8);
        t.g.addOutput(s.output());
        List<SlancRewrite.Applied> a = SlancRewrite.apply(t.model, List.of(fixed(s, 1024)));
        t.g.verify();
        Value factor = s.root().input(0).producer().input(1);
        assertEquals(DataType.FLOAT16, factor.constant().dataType(), "the factor has the input's type");
        assertEquals(0x1400, factor.constant().read().order(ByteOrder.LITTLE_ENDIAN).getShort(0), "2^-10 in FP16 bits");
        assertEquals(0, a.get(0).epsilonAfter());
        assertTrue(a.get(0).warnings().stream().anyMatch(w -> w.contains("underflows to 0 in FLOAT16")), a.get(0).warnings().toString());
    }

    @Test
    void skipNormScalesBothOperandsAndTheBiasAndRestoresTheSum() {
        TestGraph t = new TestGraph(24);
        Value a = t.input("a", DataType.FLOAT, 1, 3, 8);
        Value b = t.input("b", DataType.FLOAT, 1, 3, 8);
        Value bias = t.vector("bias", 8, 0.5, 0.1);
        NormSite s = t.skipRmsNorm("skipln", a, b, t.vector("g", 8, 1, 0.1), bias, 1e-6f, 8);
        Value sum = s.root().output(3);
        Value next = t.op("Add", sum, a); // the residual stream continues from the sum
        t.g.addOutput(s.output());
        t.g.addOutput(next);
        t.g.addOutput(sum);
        float[] biasData = t.data("bias");

        SlancRewrite.apply(t.model, List.of(fixed(s, 8)));
        t.g.verify();
        Node root = s.root();
        Node mulA = root.input(0).producer();
        Node mulB = root.input(1).producer();
        assertEquals(SlancRewrite.MUL_PREFIX + "skipln_0", mulA.name());
        assertEquals(SlancRewrite.MUL_PREFIX + "skipln_1", mulB.name());
        assertSame(a, mulA.input(0));
        assertSame(b, mulB.input(0));
        double[] scaledBias = root.input(4).constant().toDoubles();
        for (int i = 0; i < 8; i++) {
            assertEquals(biasData[i] / 8.0, scaledBias[i], 0, "bias / s is exact for a power of two");
        }
        assertEquals(biasData[0], (float) t.g.lookup("bias").constant().toDoubles()[0], "the original bias is untouched");
        assertEquals((float) (1e-6f / 64), root.floatAttr("epsilon", 0));

        // the sum output is multiplied back for its consumers, under its original name
        Value restored = t.g.lookup("skipln_sum");
        Node restore = restored.producer();
        assertEquals("Mul", restore.opType());
        assertSame(root.output(3), restore.input(0));
        assertEquals(8.0, restore.input(1).constant().toDoubles()[0], 0);
        assertSame(restored, next.producer().input(0));
        assertTrue(t.g.outputs().contains(restored));
        assertTrue(!t.g.outputs().contains(root.output(3)));
    }

    @Test
    void layerNormalizationMeanOutputIsRestored() {
        TestGraph t = new TestGraph(25);
        Value x = t.input("x", DataType.FLOAT, 1, 3, 8);
        Node ln = t.g.addNode("LayerNormalization", "", "ln", List.of(x, t.vector("g", 8, 1, 0.1)),
                List.of("ln_out", "ln_mean", "ln_invstd"));
        ln.setAttribute(Attribute.ofFloat("epsilon", 1e-5f));
        NormSite s = new NormSite(NormKind.LAYER_NORMALIZATION, ln, x, null, List.of(new Value.Use(ln, 0)), ln.input(1), null,
                new Epsilon.InAttribute(ln, "epsilon", 1e-5f), 8, List.of(ln), ln.output(0), List.of(ln.output(1), ln.output(2)));
        t.g.addOutput(ln.output(0));
        t.g.addOutput(ln.output(1));
        t.g.addOutput(ln.output(2));
        SlancRewrite.apply(t.model, List.of(fixed(s, 4)));
        t.g.verify();
        assertEquals(4.0, t.g.lookup("ln_mean").producer().input(1).constant().toDoubles()[0], 0);
        assertEquals(0.25, t.g.lookup("ln_invstd").producer().input(1).constant().toDoubles()[0], 0);
        assertEquals(List.of("ln_out", "ln_mean", "ln_invstd"), t.g.outputs().stream().map(Value::name).toList());
    }

    @Test
    void decomposedNormWithEscapingIntermediateIsLeftAlone() {
        TestGraph t = new TestGraph(26);
        Value x = t.input("x", DataType.FLOAT, 1, 3, 8);
        NormSite plain = t.decomposedLayerNorm("ln", x, t.vector("g", 8, 1, 0.1), t.vector("b", 8, 0, 0.1),
                t.scalar("eps", 1e-5f), 8);
        Value mean = plain.root().output(0);
        t.g.addOutput(plain.output());
        t.g.addOutput(mean);
        NormSite s = new NormSite(plain.kind(), plain.root(), plain.input(), null, plain.entryUses(), plain.gamma(), plain.beta(),
                plain.epsilon(), 8, plain.nodes(), plain.output(), List.of(mean));
        List<SlancRewrite.Applied> a = SlancRewrite.apply(t.model, List.of(fixed(s, 4)));
        assertSame(x, s.root().input(0));
        assertEquals(null, a.get(0).multiplier());
        assertTrue(a.get(0).warnings().get(0).contains("left unscaled"), a.get(0).warnings().toString());
    }

    @Test
    void secondRunIsDetected() {
        TestGraph t = Transformers.llama(27);
        assertTrue(!SlancRewrite.isCalibrated(t.model, t.sites));
        SlancRewrite.apply(t.model, calibrations(t));
        assertTrue(SlancRewrite.isCalibrated(t.model, t.sites));
        t.model.metadata().remove(SlancRewrite.MARKER);
        // the sites now read through the inserted Muls: recognised even without the marker
        List<NormSite> fresh = new ArrayList<>();
        for (NormSite s : t.sites) {
            fresh.add(new NormSite(s.kind(), s.root(), s.root().input(0), null, s.entryUses(), s.gamma(), s.beta(), s.epsilon(),
                    s.hiddenSize(), s.nodes(), s.output()));
        }
        assertTrue(SlancRewrite.isCalibrated(t.model, fresh));
    }
}
