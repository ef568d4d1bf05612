package io.onnxslanc.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The domain, walk and naming helpers every stage relies on. */
class IrHygieneTest {

    @Test
    void bothSpellingsOfTheDefaultDomainAreOneDomainButTheFileSpellingIsKept() {
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT, 2));
        Node a = g.addNode("Relu", "ai.onnx", "a", List.of(x), List.of("y"));
        Node b = g.addNode("Relu", "", "b", List.of(x), List.of("z"));
        Node ms = g.addNode("Relu", "com.microsoft", "c", List.of(x), List.of("w"));
        assertEquals("", a.domain());
        assertEquals("ai.onnx", a.spelledDomain());
        assertTrue(a.is("Relu") && b.is("Relu") && a.isDefaultDomain());
        assertTrue(a.is("ai.onnx", "Relu") && a.is("", "Relu"));
        assertFalse(ms.is("Relu"));
        assertTrue(a.isOneOf(Set.of("Relu", "Cast")));
        assertFalse(ms.isOneOf(Set.of("Relu")));
    }

    @Test
    void walkBackStopsAtTheFirstOpOutsideTheSetOrAnotherDomain() {
        Graph g = new Graph();
        Value x = g.addInput("x", TensorType.of(DataType.FLOAT, 2));
        Value r = g.addNode("Relu", "", "r", List.of(x), List.of("r")).output(0);
        Value c = g.addNode("Cast", "", "c", List.of(r), List.of("c")).output(0);
        Value i = g.addNode("Identity", "", "i", List.of(c), List.of("i")).output(0);
        Value foreign = g.addNode("Identity", "custom", "f", List.of(i), List.of("f")).output(0);
        assertSame(r, Walk.back(i, Walk.CAST_LIKE));
        assertSame(c, Walk.back(i, Walk.CAST_LIKE, 1));
        assertSame(foreign, Walk.back(foreign, Walk.CAST_LIKE));
        assertSame(x, Walk.back(x, Walk.LAYOUT));
    }

    @Test
    void uniqueNamesAvoidTakenNamesAndCountUp() {
        UniqueNames names = new UniqueNames(List.of("a", "a_1"));
        assertEquals("a_2", names.fresh("a"));
        assertEquals("a_3", names.fresh("a"));
        assertEquals("b", names.fresh("b"));
        assertEquals("b_1", names.unused("b"));
        assertEquals("b_1", names.unused("b"), "unused() does not reserve");
    }
}
