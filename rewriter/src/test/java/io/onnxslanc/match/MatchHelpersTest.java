package io.onnxslanc.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/** The shared predicates: last-axis reductions, constants, commutative operands, escapes into subgraphs. */
class MatchHelpersTest {

    @Test
    void lastAxisReductionInEverySpelling() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x3 = b.input("x3", 2, 3, 4);
        Value unknown = b.input("u");
        Value x1 = b.input("x1", 4);
        assertFalse(Reductions.reducesLastAxis(b.node("ReduceMean", x3), "ReduceMean"),
                "no axes on rank 3 reduces everything");
        assertTrue(Reductions.reducesLastAxis(b.node("ReduceMean", x1), "ReduceMean"), "no axes on rank 1");
        assertTrue(Reductions.reducesLastAxis(b.reduceMeanAttr(x3, 2).producer(), "ReduceMean"));
        assertFalse(Reductions.reducesLastAxis(b.reduceMeanAttr(unknown, 2).producer(), "ReduceMean"));
        assertTrue(Reductions.reducesLastAxis(b.reduceMeanAttr(unknown, -1).producer(), "ReduceMean"));
        assertFalse(Reductions.reducesLastAxis(b.reduceMeanAttr(x3, -1).producer(), "ReduceSum"), "other op type");

        Node sum = b.node("ReduceSum", x3, b.longsConstant(2));
        assertTrue(Reductions.reducesLastAxis(sum, "ReduceSum"), "opset 18 axes input from a Constant");
        Node computedAxes = b.node("ReduceMean", x3, b.op("Shape", x3));
        assertFalse(Reductions.reducesLastAxis(computedAxes, "ReduceMean"), "axes computed at run time");
        Node noop = b.node("ReduceMean", x1);
        noop.setAttribute(Attribute.ofInt("noop_with_empty_axes", 1));
        assertFalse(Reductions.reducesLastAxis(noop, "ReduceMean"), "identity, not a mean");
        Node dropped = b.node("ReduceMean", x3, b.longsInit("axes", -1));
        dropped.setAttribute(Attribute.ofInt("keepdims", 0));
        assertFalse(Reductions.reducesLastAxis(dropped, "ReduceMean"));
    }

    @Test
    void rankIsInferredThroughTheOpsOfANormChain() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value unknown = b.input("u");
        Value flat = b.op("Flatten", unknown);
        assertEquals(2, Reductions.rank(flat));
        assertEquals(2, Reductions.rank(b.cast(flat, DataType.FLOAT)));
        assertEquals(2, Reductions.rank(b.op("Pow", flat, b.scalarInit("two", 2))));
        assertEquals(-1, Reductions.rank(b.op("Relu", flat)));
        assertEquals(-1, Reductions.rank(unknown));
    }

    @Test
    void scalarsFromInitializersAndEveryConstantForm() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT16);
        assertEquals(OptionalDouble.of(2.0), Constants.scalar(b.scalarInit("two", 2)));
        assertEquals(OptionalDouble.of(0.5), Constants.scalar(b.constant(0.5)));
        assertEquals(OptionalDouble.of(0.25f), Constants.scalar(b.constantValueFloat(0.25f)));
        Node intConstant = b.nodeIn("", "Constant", 1);
        intConstant.setAttribute(Attribute.ofInt("value_int", 3));
        assertEquals(OptionalDouble.of(3), Constants.scalar(intConstant.output(0)));
        assertEquals(OptionalDouble.of(0.5), Constants.scalar(b.cast(b.constant(0.5), DataType.FLOAT)),
                "ONNX function bodies cast their epsilon");
        assertEquals(OptionalDouble.empty(), Constants.scalar(b.init("vec", 1, 2)), "not a scalar");
        assertEquals(OptionalDouble.empty(), Constants.scalar(b.input("x", 1)));
    }

    @Test
    void parameterSourcesAndActivations() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value w = b.init("w", 1, 2, 3);
        assertSame(w, Constants.parameterSource(b.op("Flatten", b.cast(w, DataType.FLOAT))));
        Value staticInput = b.input("scale", 3);
        assertSame(staticInput, Constants.parameterSource(staticInput));
        assertNull(Constants.parameterSource(b.input("act", -1, 3)), "a batch dimension marks an activation");
        assertNull(Constants.parameterSource(b.op("Relu", w)));
    }

    @Test
    void eitherOperandOrder() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 3);
        Value c = b.scalarInit("c", 1);
        Node left = b.node("Add", c, x);
        Node right = b.node("Add", x, c);
        Operands.Pair p = Operands.withOperand(left, x, v -> v.isInitializer()).orElseThrow();
        assertEquals(new Operands.Pair(x, 1, c, 0), p);
        assertEquals(new Operands.Pair(x, 0, c, 1), Operands.withOperand(right, x, Value::isInitializer).orElseThrow());
        assertTrue(Operands.withOperand(b.node("Add", x, x), x, Value::isInitializer).isEmpty());
    }

    @Test
    void intermediateReadInsideASubgraphEscapes() {
        GraphBuilder b = new GraphBuilder(DataType.FLOAT);
        Value x = b.input("x", 1, -1, 64);
        var norm = DecomposedRmsNormPatternTest.llamaRmsNorm(b, x, false, "");
        b.output(norm.output());
        Graph body = b.graph().newSubgraph();
        GraphBuilder inner = new GraphBuilder(body, DataType.FLOAT);
        body.addOutput(inner.op("Relu", norm.epsAdd().output(0))); // reads variance + eps of the outer norm
        Node branch = b.nodeIn("", "If", 1, b.input("cond", DataType.BOOL));
        branch.setAttribute(new Attribute("then_branch", Attribute.Kind.GRAPH, body, "", ""));
        branch.setAttribute(new Attribute("else_branch", Attribute.Kind.GRAPH, body, "", ""));
        b.output(branch.output(0));
        assertEquals(List.of(), NormMatcher.findAll(b.graph()));
    }
}
