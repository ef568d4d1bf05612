package io.onnxslanc.check.emulate;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * "fp16-storage": every float tensor holds only FP16 values while arithmetic stays FP32, as on hardware that
 * stores activations in FP16 and computes in wider registers. Each float node output X is renamed X__emu_fp32
 * and followed by a Cast pair that produces X again, so consumers and graph outputs keep their tensor names.
 * Float initializers and Constant values are rounded in place (beyond +-65504 saturated, as converters store
 * constants); float graph inputs get a round trip. If/Loop/Scan bodies are emulated the same way, each edit made in
 * the body that holds the tensor; a body reading an outer-scope tensor reads its rounded version.
 * <p>
 * Nodes whose output provably holds FP16 values already (data movement such as Reshape or Gather, Relu, a
 * same-type Cast, x + 0, x * 1 on rounded inputs, an If whose branches all return rounded tensors) get no round
 * trip: it would change nothing, and ORT removes such a no-op node and then the Cast pair FP16 -> FP32 -> FP16 it
 * leaves behind (lossless), which would look like a lost emulation cast.
 */
final class Fp16StorageEmulation {
    private Fp16StorageEmulation() {}

    /** Ops whose float outputs are elements of their float inputs (or their negation or zero). */
    private static final Set<String> VALUE_PRESERVING = Set.of("Identity", "Dropout", "Reshape", "Transpose", "Squeeze",
            "Unsqueeze", "Flatten", "Slice", "Gather", "GatherElements", "GatherND", "Concat", "Split", "Expand", "Tile",
            "Relu", "Max", "Min", "Neg", "Abs", "Where", "ReduceMax", "ReduceMin", "MaxPool", "DepthToSpace", "SpaceToDepth");

    /**
     * Emulates FP16 storage in {@code model}, in place, except for the values in {@code fp32}: node outputs that get
     * no round trip and constants that are not rounded, because they live inside an FP32 island (a norm computed in
     * FP32 between FP16 tensors, as the converter's normsFp32 option builds it). A value leaving an island must not
     * be listed: it is rounded like any other, which is the Cast to FP16 at the island's boundary.
     */
    static void apply(Model model, EmulationTypes types, Set<Value> fp32) {
        new Pass(types, fp32).graph(model.graph());
    }

    /** What the pass knows while it walks the nodes in order. */
    private static final class Pass {
        final EmulationTypes types;
        final Set<Value> fp32;
        final Set<Value> rounded = new HashSet<>();               // values that hold FP16 values only
        final Map<Value, float[]> smallConstants = new HashMap<>(); // rounded values of small float constants
        int pairs;

        Pass(EmulationTypes types, Set<Value> fp32) {
            this.types = types;
            this.fp32 = fp32;
        }

        void graph(Graph g) {
            for (Value init : g.initializers()) {
                if (fp32.contains(init)) continue;
                Tensor r = CastPairs.roundTensor(init.constant());
                if (r != init.constant()) init.setConstant(r);
                rounded(init, r);
            }
            List<Node> nodes = new ArrayList<>(g.nodes());
            Node first = nodes.isEmpty() ? null : nodes.get(0);
            for (Value in : new ArrayList<>(g.inputs())) {
                if (in.isInitializer() || !types.isFloat(in)) continue;
                rounded.add(roundTrip(g, in, first));
            }
            for (int k = 0; k < nodes.size(); k++) {
                Node n = nodes.get(k);
                Node next = k + 1 < nodes.size() ? nodes.get(k + 1) : null;
                if (n.is("Constant")) {
                    if (fp32.contains(n.output(0))) continue;
                    rounded(n.output(0), roundConstant(n)); // rounded value; a Cast pair here would only be constant-folded
                    continue;
                }
                for (Graph body : n.subgraphs()) graph(body);
                if (keepsFp16Values(n)) {
                    rounded.addAll(n.outputs());
                    continue;
                }
                for (Value o : new ArrayList<>(n.outputs())) {
                    if (o.name().isEmpty() || !types.isFloat(o) || fp32.contains(o)) continue;
                    rounded.add(roundTrip(g, o, next));
                }
            }
        }

        /**
         * x -> Cast16 -> Cast32 -> x': every reader of x (in this graph and in bodies below it) and every graph-output
         * slot reads x' instead. A node output keeps its name on x' (x becomes x__emu_fp32), so graph outputs and
         * tensors the caller names keep their names; a graph input keeps its own and x' gets x__emu_rt.
         */
        private Value roundTrip(Graph g, Value x, Node before) {
            List<Value.Use> uses = new ArrayList<>(x.uses());
            List<Integer> outputSlots = new ArrayList<>();
            for (int i = 0; i < g.outputs().size(); i++) if (g.outputs().get(i) == x) outputSlots.add(i);
            String name = x.name();
            String roundedName;
            if (x.producer() != null) {
                x.rename(g.unusedName(name + "__emu_fp32"));
                roundedName = name;
            } else {
                roundedName = g.unusedName(name + "__emu_rt");
            }
            int k = pairs++;
            Node to16 = add(g, before, CastPairs.PREFIX + k + "_to16", x, g.unusedName(name + "__emu_fp16"), DataType.FLOAT16);
            Node to32 = add(g, before, CastPairs.PREFIX + k + "_to32", to16.output(0), roundedName, DataType.FLOAT);
            Value y = to32.output(0);
            for (Value.Use u : uses) u.node().setInput(u.index(), y);
            for (int i : outputSlots) g.setOutput(i, y);
            types.set(to16.output(0), DataType.FLOAT16);
            types.set(y, DataType.FLOAT);
            return y;
        }

        private static Node add(Graph g, Node before, String nodeName, Value in, String out, DataType to) {
            Node c = before != null ? g.addNodeBefore(before, "Cast", "", nodeName, List.of(in), List.of(out))
                    : g.addNode("Cast", "", nodeName, List.of(in), List.of(out));
            c.setAttribute(Attribute.ofInt("to", to.code()));
            return c;
        }

        void rounded(Value v, Tensor value) {
            rounded.add(v);
            if (value != null && value.dataType() == DataType.FLOAT && value.elementCount() <= 64)
                smallConstants.put(v, CastPairs.floats(value));
        }

        /** True when every float output of n is already an FP16 value, given its inputs are. */
        boolean keepsFp16Values(Node n) {
            if (!n.isDefaultDomain()) return false;
            boolean inputsRounded = n.inputs().stream().allMatch(i -> i == null || i.name().isEmpty() || rounded.contains(i) || !types.isFloat(i));
            if (!inputsRounded) return false;
            return switch (n.opType()) {
                case "Add" -> all(n, 1, 0f) || all(n, 0, 0f);
                case "Sub" -> all(n, 1, 0f);
                case "Mul" -> all(n, 1, 1f) || all(n, 0, 1f);
                case "Div" -> all(n, 1, 1f);
                case "Cast" -> n.intAttr("to", 0) == DataType.FLOAT.code() && types.isFloat(n.input(0));
                case "If" -> branchesReturnRounded(n);
                default -> VALUE_PRESERVING.contains(n.opType());
            };
        }

        private boolean branchesReturnRounded(Node n) {
            for (Graph branch : n.subgraphs())
                for (Value o : branch.outputs())
                    if (types.isFloat(o) && !rounded.contains(o)) return false;
            return true;
        }

        private boolean all(Node n, int input, float value) {
            float[] c = n.inputs().size() > input ? smallConstants.get(n.input(input)) : null;
            if (c == null || c.length == 0) return false;
            for (float v : c) if (v != value) return false;
            return true;
        }
    }

    /** Rounds a Constant node's float value in place; returns the rounded tensor of a 'value' attribute, else null. */
    private static Tensor roundConstant(Node n) {
        Tensor t = null;
        for (Attribute a : new ArrayList<>(n.attributes().values())) {
            switch (a.name()) {
                case "value" -> {
                    t = CastPairs.roundTensor(a.tensorValue());
                    n.setAttribute(a.withValue(t));
                }
                case "value_float" -> n.setAttribute(a.withValue(CastPairs.roundConstant(a.floatValue())));
                case "value_floats" -> {
                    float[] v = ((float[]) a.value()).clone();
                    for (int i = 0; i < v.length; i++) v[i] = CastPairs.roundConstant(v[i]);
                    n.setAttribute(a.withValue(v));
                }
                default -> { }
            }
        }
        return t;
    }
}
