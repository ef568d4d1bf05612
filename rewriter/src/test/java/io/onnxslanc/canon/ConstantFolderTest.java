package io.onnxslanc.canon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.testing.GraphBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Constant expressions read as numbers; expected values are worked out by hand in each test. */
class ConstantFolderTest {
    private final GraphBuilder g = new GraphBuilder(DataType.FLOAT);

    @Test
    void gemmaGainOnePlusWeightAndScaledGainFold() {
        Value w = g.init("w", 0.5, -0.25, 2);
        Value onePlus = g.op("Add", g.constant(1.0), w);
        assertArrayEquals(new double[] {1.5, 0.75, 3}, ConstantFolder.doubles(onePlus));
        Value scaled = g.op("Mul", g.cast(w, DataType.FLOAT16), g.cast(g.scalarInit("c", 4), DataType.FLOAT16));
        assertArrayEquals(new double[] {2, -1, 8}, ConstantFolder.doubles(scaled));
        assertEquals(DataType.FLOAT16, ConstantFolder.value(scaled).dataType());
    }

    @Test
    void castRoundsToTheTargetType() {
        Value third = g.op("Div", g.constant(1.0), g.constant(3.0));
        Value half = g.cast(third, DataType.FLOAT16);
        // 1/3 in FP16: 0x3555 = 1365/4096
        assertEquals(1365.0 / 4096, ConstantFolder.scalar(half).getAsDouble(), 0);
    }

    @Test
    void sliceBoundsComputedFromShapeChainsFold() {
        // nn.MultiheadAttention: Shape(w)[0] / 3 gives the end of the q rows of a packed [3D, D] weight
        Value x = g.input("x", 2, 5, 12);
        Value dim = g.op("Gather", List.of(Attribute.ofInt("axis", 0)), g.op("Shape", x), scalarInt(2));
        Value third = g.op("Div", dim, scalarInt(3));
        Value end = g.op("Unsqueeze", third, g.longsConstant(0));
        Value start = g.longsConstant(0);
        Value bounds = g.op("Concat", List.of(Attribute.ofInt("axis", 0)), start, end, g.op("Mul", end, g.longsConstant(2)));
        assertArrayEquals(new long[] {4}, ConstantFolder.longs(third));
        assertArrayEquals(new long[0], ConstantFolder.value(third).dims(), "a scalar index gathers a scalar");
        assertArrayEquals(new long[] {0, 4, 8}, ConstantFolder.longs(bounds));
    }

    @Test
    void shapeChainsOverADynamicBatchKeepTheStaticEntries() {
        // a packed [3 * 12] projection whose batch and sequence dims are dynamic: its chunk size is still 36 / 3
        Value x = g.input("x", -1, -1, 12);
        Value w = g.graph().addInitializer("W", GraphBuilder.floats(DataType.FLOAT, new long[] {12, 36}, new double[12 * 36]));
        Value shape = g.op("Shape", g.op("MatMul", x, w));
        Value width = g.op("Gather", List.of(Attribute.ofInt("axis", 0)), shape, g.longsConstant(-1));
        Value chunk = g.op("Div", width, g.longsConstant(3));
        assertArrayEquals(new long[] {12}, ConstantFolder.shapeLongs(chunk));
        assertNull(ConstantFolder.longs(chunk), "the general folder needs every dim of the Shape");
        assertNull(ConstantFolder.shapeLongs(shape), "the batch and sequence entries are not known");
        long u = StaticShapes.UNKNOWN_DIM;
        assertArrayEquals(new long[] {u, u, 36}, ConstantFolder.partialShapeLongs(shape));
        Value sizes = g.op("Expand", chunk, g.longsConstant(3));
        assertArrayEquals(new long[] {12, 12, 12}, ConstantFolder.shapeLongs(sizes));
    }

    private Value scalarInt(long v) {
        return g.op("Constant", List.of(Attribute.ofInt("value_int", v)));
    }

    @Test
    void shapeOfAComputedValueFollowsStaticShapes() {
        Value x = g.input("x", 2, 5, 12);
        Value w = g.graph().addInitializer("W", GraphBuilder.floats(DataType.FLOAT, new long[] {12, 36}, new double[12 * 36]));
        Value y = g.op("Relu", g.op("MatMul", x, w));
        assertArrayEquals(new long[] {2, 5, 36}, ConstantFolder.longs(g.op("Shape", y)));
        Value last = g.op("Shape", List.of(Attribute.ofInt("start", -1)), y);
        assertArrayEquals(new long[] {36}, ConstantFolder.longs(last));
        Value dynamic = g.input("d", -1, 12);
        assertNull(ConstantFolder.longs(g.op("Shape", dynamic)));
    }

    @Test
    void sliceWithInt64MaxEndAndNegativeStepAndGatherOnAxisOne() {
        Value v = g.longsInit("v", 10, 20, 30, 40, 50);
        Value toEnd = g.op("Slice", v, g.longsConstant(1), g.longsConstant(Long.MAX_VALUE));
        assertArrayEquals(new long[] {20, 30, 40, 50}, ConstantFolder.longs(toEnd));
        Value reversed = g.op("Slice", v, g.longsConstant(-1), g.longsConstant(Long.MIN_VALUE), g.longsConstant(0),
                g.longsConstant(-2));
        assertArrayEquals(new long[] {50, 30, 10}, ConstantFolder.longs(reversed));
        Value m = g.graph().addInitializer("m", ArrayTensor.ofLongs(new long[] {2, 3}, 1, 2, 3, 4, 5, 6));
        Value col = g.op("Gather", List.of(Attribute.ofInt("axis", 1)), m, g.longsConstant(2, 0));
        assertArrayEquals(new long[] {3, 1, 6, 4}, ConstantFolder.longs(col));
        assertArrayEquals(new long[] {2, 2}, ConstantFolder.value(col).dims());
        Value t = g.op("Transpose", m);
        assertArrayEquals(new long[] {1, 4, 2, 5, 3, 6}, ConstantFolder.longs(t));
    }

    @Test
    void reshapeSqueezeRangeAndConstantOfShape() {
        Value w = g.graph().addInitializer("w", GraphBuilder.floats(DataType.FLOAT, new long[] {1, 4}, 1, 2, 3, 4));
        Value r = g.op("Reshape", w, g.longsConstant(2, -1));
        assertArrayEquals(new long[] {2, 2}, ConstantFolder.value(r).dims());
        Value s = g.op("Squeeze", w, g.longsConstant(0));
        assertArrayEquals(new long[] {4}, ConstantFolder.value(s).dims());
        Value range = g.op("Range", g.longsConstant(0).producer().output(0), g.longsConstant(7), g.longsConstant(3));
        // Range needs scalars; 1-element vectors read the same here
        assertArrayEquals(new long[] {0, 3, 6}, ConstantFolder.longs(range));
        Value filled = g.op("ConstantOfShape", g.longsConstant(2, 3));
        assertArrayEquals(new double[6], ConstantFolder.doubles(filled));
    }

    @Test
    void activationsAndBigWeightsBehindCastsAreNoConstants() {
        Value x = g.input("x", 2, 4);
        assertNull(ConstantFolder.value(g.op("Add", x, g.constant(1.0))));
        Value big = g.graph().addInitializer("big", GraphBuilder.floats(DataType.FLOAT,
                new long[] {ConstantFolder.MAX_ELEMENTS + 1}, new double[ConstantFolder.MAX_ELEMENTS + 1]));
        assertNull(ConstantFolder.value(g.cast(big, DataType.FLOAT16)));
        assertEquals(big.constant(), ConstantFolder.value(big), "a stored constant is returned as it is");
    }
}
