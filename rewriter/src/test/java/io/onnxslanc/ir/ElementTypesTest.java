package io.onnxslanc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Synthetic graphs whose intermediate values carry no declared type, as exporters leave them. */
class ElementTypesTest {

    @Test
    void undeclaredValuesFollowTheOpDefinitions() {
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT16, 2, 3));
        Value sum = g.addNode("Add", "", "add", List.of(x, x), List.of("sum")).output(0);
        Node cast = g.addNode("Cast", "", "cast", List.of(sum), List.of("wide"));
        cast.setAttribute(Attribute.ofInt("to", DataType.FLOAT.code()));
        Value shape = g.addNode("Shape", "", "shape", List.of(cast.output(0)), List.of("shape")).output(0);
        Value less = g.addNode("Less", "", "less", List.of(x, x), List.of("less")).output(0);
        Value custom = g.addNode("Mystery", "example.org", "m", List.of(x), List.of("custom")).output(0);
        Value source = g.addNode("Mystery", "example.org", "s", List.of(), List.of("source")).output(0);

        ElementTypes types = ElementTypes.infer(g);

        assertEquals(DataType.FLOAT16, types.of(sum));
        assertEquals(DataType.FLOAT, types.of(cast.output(0)));
        assertTrue(types.isFloat32(cast.output(0)));
        assertEquals(DataType.INT64, types.of(shape));
        assertEquals(DataType.BOOL, types.of(less));
        assertEquals(DataType.FLOAT16, types.of(custom), "an op not listed keeps its first input's type");
        assertNull(types.of(source), "an unknown op without inputs says nothing");
        assertTrue(types.any(DataType.FLOAT16));
        assertFalse(types.any(DataType.BFLOAT16));
    }

    @Test
    void valuesCreatedAfterInferenceAreRecordedBySet() {
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT, 4));
        ElementTypes types = ElementTypes.infer(g);
        Value late = g.addNode("Relu", "", "late", List.of(x), List.of("late")).output(0);
        assertNull(types.of(late));
        types.set(late, DataType.FLOAT);
        assertEquals(DataType.FLOAT, types.of(late));
    }
}
