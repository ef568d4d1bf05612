package io.onnxslanc.convert;

import static io.onnxslanc.convert.TestGraphs.assertHalfOf;
import static io.onnxslanc.convert.TestGraphs.assertTopologicalOrder;
import static io.onnxslanc.convert.TestGraphs.cast;
import static io.onnxslanc.convert.TestGraphs.castTo;
import static io.onnxslanc.convert.TestGraphs.floatInput;
import static io.onnxslanc.convert.TestGraphs.floats;
import static io.onnxslanc.convert.TestGraphs.model;
import static io.onnxslanc.convert.TestGraphs.node;
import static io.onnxslanc.convert.TestGraphs.ofType;
import static io.onnxslanc.convert.TestGraphs.weights;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.ReportJson;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Fp16ConverterTest {

    /** x -> MatMul(W) -> Add(b) -> y */
    private static Model linear() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 2, 4);
        Value w = weights(g, "W", new long[] {4, 3}, 1);
        Value b = weights(g, "b", new long[] {3}, 2);
        Value h = node(g, "MatMul", "mm", List.of(x, w), "h").output(0);
        Value y = node(g, "Add", "add", List.of(h, b), "y").output(0);
        y.setType(TensorType.of(DataType.FLOAT, 2, 3));
        g.addOutput(y);
        return model(g, 17);
    }

    @Test
    void convertsWeightsAndTypesWithRoundToNearestEven() {
        Model m = linear();
        Graph g = m.graph();
        float[] w = floats(g.lookup("W").constant());
        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults());

        assertHalfOf(w, g.lookup("W").constant());
        assertTrue(g.lookup("W").constant() instanceof ConvertedTensor);
        assertEquals(DataType.FLOAT16, g.lookup("W").elemType());
        assertEquals(DataType.FLOAT16, g.inputs().get(0).elemType());
        assertEquals(DataType.FLOAT16, g.outputs().get(0).elemType());
        assertEquals("y", g.outputs().get(0).name());
        assertTrue(ofType(g, "Cast").isEmpty());
        assertEquals(2, r.tensorsConverted());
        assertEquals((12 + 3) * 4, r.bytesBefore());
        assertEquals((12 + 3) * 2, r.bytesAfter());
        assertEquals("float16", m.metadata().get(Fp16Converter.MARKER_KEY));
        g.verify();
    }

    /**
     * T5's relative-position bucket: an int64 distance -> Cast(float) -> Div -> Log -> Mul -> Cast(int64). The float
     * ops compute an integer id; in FP16 the log rounds to another bucket, so they stay float32. The same chain whose
     * float value is also read as a float (Add into the activations) is ordinary arithmetic and is converted.
     */
    @Test
    void indexArithmeticBetweenCastsStaysFloat32() {
        Graph g = new Graph();
        Value dist = g.addInput("dist", TensorType.of(DataType.INT64, 4));
        Value x = floatInput(g, "x", 4);
        Value eight = g.addInitializer("eight", ArrayTensor.ofFloats(new long[] {}, 8f));
        Value scale = g.addInitializer("scale", ArrayTensor.ofFloats(new long[] {}, 7.2134752f));
        Node toF = TestGraphs.cast(g, "toF", dist, DataType.FLOAT, "d");
        Node div = node(g, "Div", "div", List.of(toF.output(0), eight), "q");
        Node log = node(g, "Log", "log", List.of(div.output(0)), "l");
        Node mul = node(g, "Mul", "mul", List.of(log.output(0), scale), "m");
        Node toI = TestGraphs.cast(g, "toI", mul.output(0), DataType.INT64, "bucket");
        toI.output(0).setType(TensorType.of(DataType.INT64, 4));
        g.addOutput(toI.output(0));
        Node toF2 = TestGraphs.cast(g, "toF2", dist, DataType.FLOAT, "d2");
        Node log2 = node(g, "Log", "log2", List.of(toF2.output(0)), "l2");
        Node toI2 = TestGraphs.cast(g, "toI2", log2.output(0), DataType.INT64, "id2");
        Node add = node(g, "Add", "add", List.of(x, log2.output(0)), "y");
        add.output(0).setType(TensorType.of(DataType.FLOAT, 4));
        toI2.output(0).setType(TensorType.of(DataType.INT64, 4));
        g.addOutput(toI2.output(0));
        g.addOutput(add.output(0));

        ConversionReport r = Fp16Converter.convert(model(g, 17), Fp16Options.defaults());

        for (String n : List.of("toF", "div", "log", "mul", "toI")) {
            assertEquals("index_arithmetic", r.blockedNodes().get(n), n + " in " + r.blockedNodes());
        }
        assertEquals(DataType.FLOAT, eight.constant().dataType(), "its constants stay float32");
        assertFalse(r.blockedNodes().containsKey("log2"), "a float also used as a float is converted: " + r.blockedNodes());
        assertFalse(r.blockedNodes().containsKey("toF2"));
        g.verify();
    }

    @Test
    void initializerSharedByBlockedAndConvertedNodeExistsInBothTypes() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 3);
        Value w = weights(g, "W", new long[] {3}, 3);
        float[] original = floats(w.constant());
        Node fast = node(g, "Add", "fast", List.of(x, w), "a");
        Node slow = node(g, "Mul", "slow", List.of(fast.output(0), w), "y");
        g.addOutput(slow.output(0));
        Model m = model(g, 17);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults().withNodeBlockList(Set.of("slow")));

        Value wFast = fast.input(1);
        Value wSlow = slow.input(1);
        assertNotSame(wFast, wSlow, "one initializer converted once for both uses");
        assertEquals(DataType.FLOAT16, wFast.constant().dataType());
        assertHalfOf(original, wFast.constant());
        assertEquals(DataType.FLOAT, wSlow.constant().dataType());
        assertArrayEquals(original, floats(wSlow.constant()));
        // the blocked Mul sees float32 on both inputs, its float32 result goes back to float16 for the output
        Node toFp32 = slow.input(0).producer();
        assertEquals("Cast", toFp32.opType());
        assertEquals(DataType.FLOAT, castTo(toFp32));
        Node toFp16 = g.outputs().get(0).producer();
        assertEquals("Cast", toFp16.opType());
        assertEquals(DataType.FLOAT16, castTo(toFp16));
        assertSame(slow.output(0), toFp16.input(0));
        assertEquals("y", g.outputs().get(0).name());
        assertEquals(1, r.initializersSplit());
        assertEquals(2, r.castsInserted());
        assertEquals(Set.of("slow"), r.blockedNodes().keySet());
        g.verify();
        assertTopologicalOrder(g);
    }

    @Test
    void castToFloatIsPatchedUnlessItsConsumerIsBlocked() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 3);
        Value ids = g.addInput("ids", TensorType.of(DataType.INT64, 3));
        Node patched = cast(g, "patched", ids, DataType.FLOAT, "idsF");
        Node sum = node(g, "Add", "sum", List.of(x, patched.output(0)), "s");
        Node kept = cast(g, "kept", ids, DataType.FLOAT, "idsF2");
        Node blocked = node(g, "Mul", "blocked", List.of(sum.output(0), kept.output(0)), "y");
        g.addOutput(blocked.output(0));
        Model m = model(g, 17);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults().withNodeBlockList(Set.of("blocked")));

        assertEquals(DataType.FLOAT16, castTo(patched));
        assertSame(patched.output(0), sum.input(1));
        assertEquals(DataType.FLOAT, castTo(kept));
        assertSame(kept.output(0), blocked.input(1), "no cast between the kept Cast and its float32 consumer");
        assertEquals(1, r.castsPatched());
        g.verify();
    }

    @Test
    void redundantCastPairsAndIdentityCastsAreRemoved() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 3);
        Node c1 = cast(g, "c1", x, DataType.FLOAT16, "x16");
        Node c2 = cast(g, "c2", c1.output(0), DataType.FLOAT, "x32");
        Node relu = node(g, "Relu", "relu", List.of(c2.output(0)), "r");
        Node c3 = cast(g, "c3", relu.output(0), DataType.FLOAT16, "r16");
        Node c4 = cast(g, "c4", c3.output(0), DataType.FLOAT, "r32");
        Node c5 = cast(g, "c5", c4.output(0), DataType.FLOAT16, "r16b");
        Node neg = node(g, "Neg", "neg", List.of(c5.output(0)), "y");
        g.addOutput(neg.output(0));
        Model m = model(g, 17);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults());

        assertTrue(ofType(g, "Cast").isEmpty(), "casts left: " + ofType(g, "Cast"));
        assertSame(g.inputs().get(0), relu.input(0));
        assertSame(relu.output(0), neg.input(0));
        assertEquals(5, r.castsRemoved());
        g.verify();
    }

    @Test
    void cleanupRemovesInsertedFp32RoundTripButKeepsTheModelsOwn() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 3);
        Node a = cast(g, "a", x, DataType.FLOAT16, "a16");
        Node b = cast(g, "b", a.output(0), DataType.FLOAT, "b32");
        Node relu = node(g, "Relu", "relu", List.of(b.output(0)), "r");
        Node c = cast(g, "c", relu.output(0), DataType.FLOAT16, "c16");
        Node d = cast(g, "d", c.output(0), DataType.FLOAT, "d32");
        Node neg = node(g, "Neg", "neg", List.of(d.output(0)), "y");
        g.addOutput(neg.output(0));
        java.util.Map<Value, DataType> t = new java.util.IdentityHashMap<>();
        t.put(x, DataType.FLOAT);
        t.put(relu.output(0), DataType.FLOAT);
        Set<Node> inserted = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        inserted.add(a);
        inserted.add(b);

        int removed = new CastCleanup(t::get, inserted).run(g);

        assertEquals(2, removed);
        assertSame(x, relu.input(0), "inserted float32 -> float16 -> float32 pair removed");
        assertSame(d.output(0), neg.input(0), "the model's own rounding pair stays");
        g.verify();
    }

    @Test
    void alreadyConvertedModelIsNotConvertedTwice() {
        Model m = linear();
        Fp16Converter.convert(m, Fp16Options.defaults());
        Tensor w = m.graph().lookup("W").constant();
        int nodes = m.graph().nodes().size();

        ConversionReport again = Fp16Converter.convert(m, Fp16Options.defaults());

        assertTrue(again.alreadyConverted());
        assertTrue(again.alreadyConvertedReason().contains(Fp16Converter.MARKER_KEY));
        assertSame(w, m.graph().lookup("W").constant());
        assertEquals(nodes, m.graph().nodes().size());
        assertTrue(again.toText().contains("already converted"));

        // a float16 model from elsewhere, without the marker
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT16, 2));
        Value c = g.addInitializer("c", new ArrayTensor(DataType.FLOAT16, new long[] {2}, ByteBuffer.allocate(4)));
        g.addOutput(node(g, "Add", "add", List.of(x, c), "y").output(0));
        ConversionReport foreign = Fp16Converter.convert(model(g, 17), Fp16Options.defaults());
        assertTrue(foreign.alreadyConverted());
        assertEquals(0, foreign.tensorsConverted());
    }

    @Test
    void quantisedPartsKeepTheirIntegersAndFloat32Scales() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 2, 4);
        Value wq = g.addInitializer("Wq", new ArrayTensor(DataType.INT8, new long[] {4, 3}, ByteBuffer.allocate(12)));
        Value wzp = g.addInitializer("Wzp", new ArrayTensor(DataType.INT8, new long[0], ByteBuffer.allocate(1)));
        Value ws = g.addInitializer("Ws", ArrayTensor.scalarFloat(0.01f));
        Value bias = weights(g, "bias", new long[] {3}, 4);
        Node dql = g.addNode("DynamicQuantizeLinear", "", "dql", List.of(x), List.of("xq", "xs", "xzp"));
        Node mmi = node(g, "MatMulInteger", "mmi", List.of(dql.output(0), wq, dql.output(2), wzp), "acc");
        Node toF = cast(g, "toF", mmi.output(0), DataType.FLOAT, "accF");
        Node scale = node(g, "Mul", "scale", List.of(dql.output(1), ws), "s");
        Node rescale = node(g, "Mul", "rescale", List.of(toF.output(0), scale.output(0)), "mm");
        Node add = node(g, "Add", "add", List.of(rescale.output(0), bias), "h");
        // a weight-only quantised embedding row: DequantizeLinear(int8, float scale)
        Value eq = g.addInitializer("Eq", new ArrayTensor(DataType.UINT8, new long[] {3}, ByteBuffer.allocate(3)));
        Value es = g.addInitializer("Es", ArrayTensor.scalarFloat(0.5f));
        Value ezp = g.addInitializer("Ezp", new ArrayTensor(DataType.UINT8, new long[0], ByteBuffer.allocate(1)));
        Node dq = node(g, "DequantizeLinear", "dq", List.of(eq, es, ezp), "e");
        Node out = node(g, "Add", "out", List.of(add.output(0), dq.output(0)), "y");
        g.addOutput(out.output(0));
        Tensor wqData = wq.constant();
        Model m = model(g, 13);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults());

        assertSame(wqData, wq.constant(), "integer weights untouched");
        assertEquals(DataType.INT8, wzp.constant().dataType());
        assertEquals(DataType.UINT8, eq.constant().dataType());
        // DynamicQuantizeLinear only takes float32: a cast in front, and its scale stays float32
        Node inCast = dql.input(0).producer();
        assertEquals(DataType.FLOAT, castTo(inCast));
        assertSame(g.inputs().get(0), inCast.input(0));
        assertEquals(DataType.FLOAT, castTo(toF), "int32 accumulators are rescaled in float32");
        assertSame(toF.output(0), rescale.input(0));
        assertSame(scale.output(0), rescale.input(1));
        assertSame(dql.output(1), scale.input(0));
        assertEquals(DataType.FLOAT, ws.constant().dataType());
        assertEquals(DataType.FLOAT, es.constant().dataType(), "DequantizeLinear-13 scale is tensor(float)");
        // back to float16 for the float16 ops
        assertEquals(DataType.FLOAT16, castTo(add.input(0).producer()));
        assertSame(rescale.output(0), add.input(0).producer().input(0));
        assertEquals(DataType.FLOAT16, bias.constant().dataType());
        assertEquals(DataType.FLOAT16, castTo(out.input(1).producer()));
        assertTrue(r.blockedNodes().keySet().containsAll(Set.of("dql", "toF", "scale", "rescale", "dq")));
        assertFalse(r.blockedNodes().containsKey("add"));
        g.verify();
        assertTopologicalOrder(g);
    }

    @Test
    void badOptionsFailWithClearMessages() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> Fp16Converter.convert(linear(), Fp16Options.defaults().withNodeBlockList(Set.of("mm", "nope"))));
        assertEquals("node block list names a node the model does not have: nope", missing.getMessage());
        IllegalArgumentException io = assertThrows(IllegalArgumentException.class,
                () -> Fp16Converter.convert(linear(), Fp16Options.defaults().withKeepIoNames(Set.of("z"))));
        assertTrue(io.getMessage().contains("'z'"), io.getMessage());
        IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class, () -> Fp16Options.parseTarget("fp8"));
        assertTrue(dtype.getMessage().contains("unknown target type 'fp8'"), dtype.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Fp16Options.defaults().withTarget(DataType.DOUBLE));
        assertEquals(DataType.BFLOAT16, Fp16Options.parseTarget("BF16"));
        assertEquals(DataType.FLOAT16, Fp16Options.parseTarget("float16"));
    }

    @Test
    void keepIoTypesCastsAtTheBoundaryAndKeepsNames() {
        Model m = linear();
        Graph g = m.graph();
        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults().withKeepAllIoTypes(true));

        Value x = g.inputs().get(0);
        Value y = g.outputs().get(0);
        assertEquals("x", x.name());
        assertEquals("y", y.name());
        assertEquals(DataType.FLOAT, x.elemType());
        assertEquals(DataType.FLOAT, y.elemType());
        assertEquals(TensorType.of(DataType.FLOAT, 2, 3), y.type(), "the output keeps its declared shape");
        Node mm = g.findNode("mm");
        assertEquals(DataType.FLOAT16, castTo(mm.input(0).producer()));
        assertSame(x, mm.input(0).producer().input(0));
        Node out = y.producer();
        assertEquals(DataType.FLOAT, castTo(out));
        assertSame(g.findNode("add").output(0), out.input(0));
        assertEquals(DataType.FLOAT16, g.findNode("add").output(0).elemType());
        assertEquals(2, r.castsInserted());
        g.verify();

        Model only = linear();
        Fp16Converter.convert(only, Fp16Options.defaults().withKeepIoNames(Set.of("y")));
        assertEquals(DataType.FLOAT16, only.graph().inputs().get(0).elemType());
        assertEquals(DataType.FLOAT, only.graph().outputs().get(0).elemType());
    }

    @Test
    void dtypeAttributesAndConstantsFollowTheTarget() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 2, 2);
        Node rnl = node(g, "RandomNormalLike", "rnl", List.of(x), "n");
        rnl.setAttribute(Attribute.ofInt("dtype", DataType.FLOAT.code()));
        Node ru = node(g, "RandomUniform", "ru", List.of(), "u");
        ru.setAttribute(Attribute.ofInts("shape", 2, 2));
        Node eye = node(g, "EyeLike", "eye", List.of(x), "i");
        Value shape = g.addInitializer("shape", ArrayTensor.ofLongs(new long[] {2}, 2, 2));
        Node zeros = node(g, "ConstantOfShape", "zeros", List.of(shape), "z");
        Node half = node(g, "Constant", "half", List.of(), "h");
        half.setAttribute(Attribute.ofFloat("value_float", 0.5f));
        Node big = node(g, "Constant", "big", List.of(), "bg");
        big.setAttribute(Attribute.ofTensor("value", ArrayTensor.ofFloats(new long[] {2}, 1e6f, 1e-10f)));
        Value s1 = node(g, "Add", "s1", List.of(rnl.output(0), ru.output(0)), "s1").output(0);
        Value s2 = node(g, "Add", "s2", List.of(s1, eye.output(0)), "s2").output(0);
        Value s3 = node(g, "Add", "s3", List.of(s2, zeros.output(0)), "s3").output(0);
        Value s4 = node(g, "Mul", "s4", List.of(s3, half.output(0)), "s4").output(0);
        g.addOutput(node(g, "Mul", "s5", List.of(s4, big.output(0)), "y").output(0));
        Model m = model(g, 17);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults());

        assertEquals(DataType.FLOAT16.code(), rnl.intAttr("dtype", -1));
        assertEquals(DataType.FLOAT16.code(), ru.intAttr("dtype", -1), "the float default is made explicit");
        assertEquals(-1, eye.intAttr("dtype", -1), "EyeLike without dtype follows its input");
        Tensor zero = zeros.attribute("value").orElseThrow().tensorValue();
        assertEquals(DataType.FLOAT16, zero.dataType());
        assertEquals(0.0, zero.toDoubles()[0]);
        assertTrue(half.attribute("value_float").isEmpty());
        Tensor h = half.attribute("value").orElseThrow().tensorValue();
        assertEquals(DataType.FLOAT16, h.dataType());
        assertEquals(0.5, h.toDoubles()[0]);
        assertEquals(2, r.dtypeAttributesPatched());
        assertTrue(ofType(g, "Cast").isEmpty());
        // clamping: counted once the conversion ran
        assertFalse(r.clampCountsComplete());
        r.finishClampCounts();
        assertTrue(r.clampCountsComplete());
        assertEquals(List.of(new ConversionReport.ClampedTensor("big/value", 1, 1)), r.clampedTensors());
        Tensor bigValue = big.attribute("value").orElseThrow().tensorValue();
        assertEquals(65504.0, bigValue.toDoubles()[0]);
        assertEquals(0x1p-24, bigValue.toDoubles()[1]);
        g.verify();
    }

    /**
     * Sequences keep float32 elements (their declared seq(tensor(float)) types are not rewritten): a tensor is cast
     * back to float32 before SequenceConstruct, and one read back with SequenceAt is cast to FP16 for its consumer.
     */
    @Test
    void tensorsInSequencesStayFloat32() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 3);
        Value w = weights(g, "W", new long[] {3}, 7);
        Value h = node(g, "Mul", "mul", List.of(x, w), "h").output(0);
        Value seq = node(g, "SequenceConstruct", "construct", List.of(h, x), "seq").output(0);
        Value zero = g.addInitializer("zero", ArrayTensor.ofLongs(new long[0], 0));
        Value back = node(g, "SequenceAt", "at", List.of(seq, zero), "back").output(0);
        Value y = node(g, "Add", "add", List.of(back, h), "y").output(0);
        y.setType(TensorType.of(DataType.FLOAT, 3));
        g.addOutput(y);
        Model m = model(g, 17);

        Fp16Converter.convert(m, Fp16Options.defaults());

        Node construct = g.findNode("construct");
        for (Value in : construct.inputs()) {
            Node p = in.producer();
            assertTrue(p != null && p.is("Cast") && castTo(p) == DataType.FLOAT, "float32 into the sequence: " + in.name());
        }
        Node add = g.findNode("add");
        Node castBack = add.input(0).producer();
        assertTrue(castBack.is("Cast") && castTo(castBack) == DataType.FLOAT16, "SequenceAt's float32 result cast for Add");
        assertEquals(DataType.FLOAT16, w.constant().dataType());
        assertEquals(DataType.FLOAT16, y.elemType());
    }

    @Test
    void float32OnlyInputsStayFloat32() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 1, 1, 2, 2);
        Value roi = g.addInitializer("roi", ArrayTensor.ofFloats(new long[] {0}));
        Value scales = g.addInitializer("scales", ArrayTensor.ofFloats(new long[] {4}, 1, 1, 2, 2));
        Node resize = node(g, "Resize", "resize", List.of(x, roi, scales), "r");
        Value gamma = weights(g, "gamma", new long[] {2}, 5);
        Value beta = weights(g, "beta", new long[] {2}, 6);
        Node gn = g.addNode("GroupNorm", "com.microsoft", "gn", List.of(resize.output(0), gamma, beta), List.of("y"));
        g.addOutput(gn.output(0));
        Model m = model(g, 17);
        m.opsets().put("com.microsoft", 1L);

        Fp16Converter.convert(m, Fp16Options.defaults());

        assertEquals(DataType.FLOAT, scales.constant().dataType());
        assertEquals(DataType.FLOAT16, resize.input(1).constant().dataType());
        assertEquals(DataType.FLOAT, gamma.constant().dataType());
        assertEquals(DataType.FLOAT, beta.constant().dataType());
        assertEquals(DataType.FLOAT16, resize.input(0).elemType());
        assertTrue(ofType(g, "Cast").isEmpty());
    }

    @Test
    void normsFp32KeepsFusedNormsAndDecomposedStatisticsInFloat32() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 2, 8);
        Value gamma = weights(g, "gamma", new long[] {8}, 7);
        Value two = g.addInitializer("two", ArrayTensor.scalarFloat(2f));
        Value eps = g.addInitializer("eps", ArrayTensor.scalarFloat(1e-6f));
        Node pow = node(g, "Pow", "pow", List.of(x, two), "sq");
        Node mean = node(g, "ReduceMean", "mean", List.of(pow.output(0)), "ms");
        mean.setAttribute(Attribute.ofInts("axes", -1));
        Node addEps = node(g, "Add", "addEps", List.of(mean.output(0), eps), "mse");
        Node sqrt = node(g, "Sqrt", "sqrt", List.of(addEps.output(0)), "rms");
        Node inv = node(g, "Reciprocal", "inv", List.of(sqrt.output(0)), "rinv");
        Node norm = node(g, "Mul", "norm", List.of(x, inv.output(0)), "xn");
        Node gain = node(g, "Mul", "gain", List.of(norm.output(0), gamma), "rmsOut");
        Value beta = weights(g, "beta", new long[] {8}, 8);
        Node ln = node(g, "LayerNormalization", "ln", List.of(gain.output(0), gamma, beta), "y");
        g.addOutput(ln.output(0));
        Node other = node(g, "Mul", "other", List.of(x, gamma), "y2");
        g.addOutput(other.output(0));
        Model m = model(g, 17);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults().withNormsFp32(true));

        assertEquals(Set.of("pow", "mean", "addEps", "sqrt", "inv", "norm", "gain", "ln"), r.blockedNodes().keySet());
        assertEquals(DataType.FLOAT, eps.constant().dataType(), "epsilon used only in float32 stays float32");
        assertEquals(DataType.FLOAT, two.constant().dataType());
        assertEquals(DataType.FLOAT, beta.constant().dataType());
        // gamma feeds the float32 norms and a float16 Mul: split
        assertEquals(DataType.FLOAT, gain.input(1).constant().dataType());
        assertSame(gain.input(1), ln.input(1));
        assertEquals(DataType.FLOAT16, other.input(1).constant().dataType());
        // one cast of x into the float32 norm, shared by its two uses; none inside the norms
        Node in = pow.input(0).producer();
        assertEquals(DataType.FLOAT, castTo(in));
        assertSame(in, norm.input(0).producer());
        assertSame(gain.output(0), ln.input(0));
        assertSame(x, other.input(0));
        assertEquals(DataType.FLOAT16, castTo(g.outputs().get(0).producer()));
        assertEquals(2, r.castsInserted());
        g.verify();
        assertTopologicalOrder(g);
    }

    @Test
    void ifBranchesUsingOuterValuesAreConverted() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 3);
        Value cond = g.addInput("cond", TensorType.of(DataType.BOOL));
        Value w = weights(g, "W", new long[] {3}, 9);
        float[] wData = floats(w.constant());
        Graph thenG = g.newSubgraph();
        Node thenMul = node(thenG, "Mul", "thenMul", List.of(x, w), "t");
        thenG.addOutput(thenMul.output(0));
        Graph elseG = g.newSubgraph();
        Value local = weights(elseG, "local", new long[] {3}, 10);
        float[] localData = floats(local.constant());
        Node elseAdd = node(elseG, "Add", "elseAdd", List.of(x, local), "e1");
        Node elseSlow = node(elseG, "Sub", "elseSlow", List.of(elseAdd.output(0), w), "e2");
        elseG.addOutput(elseSlow.output(0));
        Node ifNode = node(g, "If", "if", List.of(cond), "y");
        ifNode.output(0).setType(TensorType.of(DataType.FLOAT, 3));
        ifNode.setAttribute(new Attribute("then_branch", Attribute.Kind.GRAPH, thenG, "", ""));
        ifNode.setAttribute(new Attribute("else_branch", Attribute.Kind.GRAPH, elseG, "", ""));
        g.addOutput(ifNode.output(0));
        Model m = model(g, 17);

        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults().withNodeBlockList(Set.of("elseSlow")));

        assertEquals(DataType.FLOAT16, x.elemType());
        assertSame(x, thenMul.input(0));
        assertEquals(DataType.FLOAT16, thenMul.input(1).constant().dataType());
        assertHalfOf(wData, thenMul.input(1).constant());
        assertHalfOf(localData, local.constant());
        // the blocked node in the else branch gets float32 operands, cast inside the branch
        assertEquals(DataType.FLOAT, elseSlow.input(1).constant().dataType());
        assertArrayEquals(wData, floats(elseSlow.input(1).constant()));
        Node in = elseSlow.input(0).producer();
        assertEquals(DataType.FLOAT, castTo(in));
        assertSame(elseG, in.graph());
        // and the branch returns float16 like the then branch
        Node back = elseG.outputs().get(0).producer();
        assertEquals(DataType.FLOAT16, castTo(back));
        assertSame(elseG, back.graph());
        assertEquals(DataType.FLOAT16, g.outputs().get(0).elemType());
        assertEquals(1, r.initializersSplit());
        assertEquals(2, r.tensorsConverted());
        g.verify();
        assertTopologicalOrder(g);
    }

    /** acc = x; repeat M times: acc = acc * W (W from the outer graph) */
    static Model loopModel() {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 3);
        Value w = g.addInitializer("W", ArrayTensor.ofFloats(new long[] {3}, 0.5f, 2f, -1.5f));
        Value trips = g.addInitializer("M", ArrayTensor.ofLongs(new long[0], 3));
        Value cond = g.addInitializer("cond", new ArrayTensor(DataType.BOOL, new long[0], ByteBuffer.wrap(new byte[] {1})));
        Graph body = g.newSubgraph();
        body.setName("body");
        body.addInput("i", TensorType.of(DataType.INT64));
        Value c = body.addInput("c", TensorType.of(DataType.BOOL));
        Value acc = body.addInput("acc", TensorType.of(DataType.FLOAT, 3));
        Node keep = node(body, "Identity", "keep", List.of(c), "cOut");
        keep.output(0).setType(TensorType.of(DataType.BOOL));
        Node mul = node(body, "Mul", "step", List.of(acc, w), "accOut");
        mul.output(0).setType(TensorType.of(DataType.FLOAT, 3));
        body.addOutput(keep.output(0));
        body.addOutput(mul.output(0));
        Node loop = node(g, "Loop", "loop", List.of(trips, cond, x), "y");
        loop.setAttribute(new Attribute("body", Attribute.Kind.GRAPH, body, "", ""));
        loop.output(0).setType(TensorType.of(DataType.FLOAT, 3));
        g.addOutput(loop.output(0));
        return model(g, 17);
    }

    @Test
    void loopBodyCarriedValuesFollowTheLoop() {
        Model m = loopModel();
        Graph g = m.graph();
        Graph body = g.findNode("loop").subgraphs().get(0);
        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults());

        assertEquals(DataType.INT64, body.inputs().get(0).elemType());
        assertEquals(DataType.FLOAT16, body.inputs().get(2).elemType());
        assertEquals(DataType.FLOAT16, body.outputs().get(1).elemType());
        assertEquals(DataType.FLOAT16, g.findNode("step").input(1).constant().dataType());
        assertEquals(DataType.FLOAT16, g.outputs().get(0).elemType());
        assertEquals(DataType.INT64, g.lookup("M").constant().dataType());
        assertEquals(0, r.castsInserted());

        // the same Loop kept in float32: its body stays float32, casts only outside
        Model blocked = loopModel();
        ConversionReport rb = Fp16Converter.convert(blocked, Fp16Options.defaults().withOpBlockList(Set.of("Loop")));
        Graph bg = blocked.graph();
        Graph bbody = bg.findNode("loop").subgraphs().get(0);
        assertEquals(DataType.FLOAT, bbody.inputs().get(2).elemType());
        assertEquals(DataType.FLOAT, bg.findNode("step").input(1).constant().dataType());
        assertEquals("inside_fp32_subgraph", rb.blockedNodes().get("step"));
        assertEquals(DataType.FLOAT, castTo(bg.findNode("loop").input(2).producer()));
        assertEquals(DataType.FLOAT16, castTo(bg.outputs().get(0).producer()));
        bg.verify();
    }

    @Test
    void bfloat16TargetRoundsToNearestEven() {
        Model m = linear();
        float[] w = floats(m.graph().lookup("W").constant());
        Fp16Converter.convert(m, Fp16Options.defaults().withTarget(DataType.BFLOAT16));
        Tensor t = m.graph().lookup("W").constant();
        assertEquals(DataType.BFLOAT16, t.dataType());
        short[] got = TestGraphs.shorts(t);
        for (int i = 0; i < w.length; i++) {
            assertEquals(HalfReference.toBFloat16(w[i]), got[i], "element " + i);
        }
        assertEquals(DataType.BFLOAT16, m.graph().inputs().get(0).elemType());
        assertEquals("bfloat16", m.metadata().get(Fp16Converter.MARKER_KEY));
    }

    @Test
    void reportAsJson() throws Exception {
        Graph g = new Graph();
        Value x = floatInput(g, "x", 2);
        Value c = g.addInitializer("c", ArrayTensor.ofFloats(new long[] {2}, 1e5f, 3f));
        g.addOutput(node(g, "Add", "add", List.of(x, c), "y").output(0));
        Model m = model(g, 17);
        ConversionReport r = Fp16Converter.convert(m, Fp16Options.defaults());
        r.finishClampCounts();

        JsonNode j = new ObjectMapper().readTree(ReportJson.text(ReportJson.conversion(r)));
        assertEquals("FLOAT16", j.get("target").asText());
        assertFalse(j.get("alreadyConverted").asBoolean());
        assertEquals(1, j.get("tensorsConverted").asInt());
        assertEquals(8, j.get("bytesBefore").asLong());
        assertEquals(4, j.get("bytesAfter").asLong());
        assertEquals("c", j.get("clampedTensors").get(0).get("name").asText());
        assertEquals(1, j.get("clampedTensors").get(0).get("clampedHigh").asLong());
        assertEquals(0, j.get("clampedTensors").get(0).get("clampedLow").asLong());
        assertTrue(r.toText().contains("c: 1 above the range, 0 below"), r.toText());
    }

    private static void assertArrayEquals(float[] want, float[] got) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(want, got);
    }
}
