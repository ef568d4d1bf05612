package io.onnxslanc.convert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** Small helpers to build test graphs with the IR API and to check converted ones independently. */
final class TestGraphs {
    private TestGraphs() {
    }

    static Model model(Graph g, long opset) {
        Model m = new Model(9, g);
        m.opsets().put("", opset);
        return m;
    }

    static Value floatInput(Graph g, String name, long... dims) {
        return g.addInput(name, TensorType.of(DataType.FLOAT, dims));
    }

    static Value weights(Graph g, String name, long[] dims, long seed) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        float[] v = new float[n];
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return g.addInitializer(name, ArrayTensor.ofFloats(dims, v));
    }

    static Node node(Graph g, String op, String name, List<Value> inputs, String... outputs) {
        return g.addNode(op, "", name, inputs, List.of(outputs));
    }

    static Node cast(Graph g, String name, Value in, DataType to, String out) {
        Node c = node(g, "Cast", name, List.of(in), out);
        c.setAttribute(Attribute.ofInt("to", to.code()));
        return c;
    }

    static DataType castTo(Node c) {
        return DataType.fromCode((int) c.intAttr("to", -1));
    }

    static List<Node> allNodes(Graph g) {
        List<Node> out = new ArrayList<>();
        g.forEachNodeRecursive(out::add);
        return out;
    }

    static List<Node> ofType(Graph g, String op) {
        return allNodes(g).stream().filter(n -> n.opType().equals(op)).toList();
    }

    static float[] floats(Tensor t) {
        ByteBuffer b = t.read().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static short[] shorts(Tensor t) {
        ByteBuffer b = t.read().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        short[] out = new short[b.remaining() / 2];
        b.asShortBuffer().get(out);
        return out;
    }

    /** The converted tensor holds exactly the reference float16 of each source value. */
    static void assertHalfOf(float[] source, Tensor converted) {
        assertEquals(DataType.FLOAT16, converted.dataType());
        short[] h = shorts(converted);
        assertEquals(source.length, h.length);
        for (int i = 0; i < h.length; i++) {
            short want = HalfReference.toHalf(source[i], 65504, 0x1p-24);
            assertEquals(want, h[i], "element " + i + " = " + source[i]);
        }
    }

    /**
     * Independent check of the converted graph: every node appears after the producers of its
     * inputs (topological order, including values used inside subgraphs).
     */
    static void assertTopologicalOrder(Graph g) {
        Set<Value> defined = Collections.newSetFromMap(new IdentityHashMap<>());
        assertOrder(g, defined);
    }

    private static void assertOrder(Graph g, Set<Value> outer) {
        Set<Value> defined = Collections.newSetFromMap(new IdentityHashMap<>());
        defined.addAll(outer);
        defined.addAll(g.inputs());
        defined.addAll(g.initializers());
        for (Node n : g.nodes()) {
            for (Value v : n.inputs()) {
                assertTrue(v == null || defined.contains(v), n + " uses " + v + " before it is computed");
            }
            for (Graph sub : n.subgraphs()) {
                assertOrder(sub, defined);
            }
            defined.addAll(n.outputs());
        }
    }
}
