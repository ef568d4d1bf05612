package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.IrModels;
import io.onnxslanc.check.model.OrtTensorType;
import io.onnxslanc.check.model.OrtTypeInference;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.proto.Onnx.ModelProto;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * "fp16-naive-norms": fp16-storage, and in addition every norm computes its statistics the way a naive FP16
 * kernel does. Fused norms are rewritten in decomposed form (mean subtraction for LayerNorm, square, ReduceSum,
 * divide by d, add eps, Sqrt, divide, scale, shift); the ReduceMean of a decomposed norm's squares becomes
 * ReduceSum then divide by d. The storage pass then rounds every one of these steps to FP16, so the sum of
 * squares is inf as soon as it exceeds 65504, i.e. once RMS(x) > sqrt(65504 / d), as on real naive FP16 hardware.
 * Norms inside If/Loop/Scan bodies are rewritten in the body that holds them.
 */
final class NaiveNormEmulation {
    private NaiveNormEmulation() {}

    /** Per fused op: input/output positions (-1 = none) and whether the mean is subtracted. */
    private record NormOp(boolean centered, int skip, int gamma, int beta, int bias, int meanOut, int invStdOut, int sumOut,
                          boolean lastAxisOnly, float defaultEps) {}

    private static final Map<String, NormOp> FUSED = Map.of(
            "LayerNormalization", new NormOp(true, -1, 1, 2, -1, 1, 2, -1, false, 1e-5f),
            "SimplifiedLayerNormalization", new NormOp(false, -1, 1, -1, -1, -1, 1, -1, false, 1e-5f),
            "RMSNormalization", new NormOp(false, -1, 1, -1, -1, -1, -1, -1, false, 1e-5f),
            "SkipLayerNormalization", new NormOp(true, 1, 2, 3, 4, 1, 2, 3, true, 1e-12f),
            "SkipSimplifiedLayerNormalization", new NormOp(false, 1, 2, -1, 3, -1, 2, 3, true, 1e-12f));
    private static final Set<String> DOMAINS = Set.of("", "ai.onnx", "com.microsoft");

    /** The decomposed model (for tests: what the naive-norm mode computes before the storage rounding). */
    static ModelProto decompose(ModelProto model) {
        Model ir = IrModels.read(model, null);
        decompose(ir, Set.of(), OrtTypeInference.infer(model));
        return IrModels.toProto(ir);
    }

    /**
     * Rewrites every norm of {@code model} in place, except the nodes named in {@code fp32Nodes} (they compute in
     * FP32). {@code ortMain}: ORT's inferred main-graph types, for the rank a norm with a positive axis needs.
     */
    static void decompose(Model model, Set<String> fp32Nodes, Map<String, OrtTensorType> ortMain) {
        Rewrite r = new Rewrite(model.opset("") >= 13 || model.opset("") < 0, model.graph(), ortMain); // ReduceSum takes axes as an input from opset 13
        r.graph(model.graph(), fp32Nodes);
    }

    /**
     * Emits the replacement nodes and their constants just before the node they replace. d, the number of values a
     * norm reduces over, is computed at run time as Size(x) / Size(sum): exported graphs often lose the static rank
     * after attention reshapes.
     */
    private static final class Rewrite {
        final boolean axesAsInput;
        final Graph main;
        final Map<String, OrtTensorType> ortMain;
        Graph g;
        Node anchor;
        String prefix = "";
        int count;

        Rewrite(boolean axesAsInput, Graph main, Map<String, OrtTensorType> ortMain) {
            this.axesAsInput = axesAsInput;
            this.main = main;
            this.ortMain = ortMain;
        }

        void graph(Graph graph, Set<String> fp32Nodes) {
            for (Node n : new ArrayList<>(graph.nodes())) {
                for (Graph body : n.subgraphs()) graph(body, fp32Nodes);
                g = graph;
                anchor = n;
                NormOp op = DOMAINS.contains(n.domain()) ? FUSED.get(n.opType()) : null;
                if (fp32Nodes.contains(n.name()) && !n.name().isEmpty()) continue;
                if (op != null) fused(n, op);
                else if (n.is("ReduceMean") && isSquare(n.input(0))) meanOfSquares(n);
            }
        }

        void fused(Node n, NormOp op) {
            prefix = "emu_norm_" + (n.name().isEmpty() ? "n" + count : n.name()) + "_";
            List<Value> outs = new ArrayList<>(n.outputs());
            List<Value> replacement = new ArrayList<>();
            for (int i = 0; i < outs.size(); i++) replacement.add(null);
            Value x = n.input(0);
            if (op.skip >= 0) {
                boolean hasBias = present(n.inputs(), op.bias);
                x = emit("Add", List.of(x, n.input(op.skip)));
                if (hasBias) x = emit("Add", List.of(x, n.input(op.bias)));
                if (present(outs, op.sumOut)) replacement.set(op.sumOut, x);
            }
            long[] axes = normalisedAxes(n, op);
            Value eps = scalar(n.floatAttr("epsilon", op.defaultEps));

            Value xc = x, mean = null;
            if (op.centered) {
                mean = mean(x, axes, 1);
                xc = emit("Sub", List.of(x, mean));
            }
            Value meanSq = mean(emit("Mul", List.of(xc, xc)), axes, 1);
            Value rms = emit("Sqrt", List.of(emit("Add", List.of(meanSq, eps))));
            Value y = emit("Mul", List.of(emit("Div", List.of(xc, rms)), n.input(op.gamma)));
            if (present(n.inputs(), op.beta)) y = emit("Add", List.of(y, n.input(op.beta)));
            replacement.set(0, y);

            for (int i = 1; i < outs.size(); i++) {
                if (outs.get(i).name().isEmpty() || i == op.sumOut) continue;
                if (i == op.invStdOut) replacement.set(i, emit("Reciprocal", List.of(rms)));
                else if (i == op.meanOut && mean != null) replacement.set(i, emit("Identity", List.of(mean)));
                else throw new IllegalArgumentException(what(n) + ": output " + i + " ('" + outs.get(i).name() + "') is not supported by the naive-norm emulation");
            }
            replace(n, replacement);
        }

        /** ReduceMean(x^2) -> ReduceSum(x^2) / d. */
        void meanOfSquares(Node n) {
            prefix = "emu_norm_" + (n.name().isEmpty() ? "n" + count : n.name()) + "_";
            long[] axes = n.attribute("axes").map(Attribute::intsValue).orElse(null);
            if (axes == null && n.inputs().size() > 1 && n.input(1) != null && !n.input(1).name().isEmpty()) {
                Tensor t = constantValue(n.input(1));
                if (t == null) return; // axes computed at run time: leave the node as it is
                axes = t.toLongs();
            }
            if (axes == null && n.intAttr("noop_with_empty_axes", 0) == 1) return; // a no-op reduction
            Value sum = reduceSum(n.input(0), axes, n.intAttr("keepdims", 1));
            replace(n, List.of(emit("Div", List.of(sum, size(n.input(0), sum)))));
        }

        /** Every reader of n's outputs reads the replacement; the replacement takes the output's name; n goes. */
        private void replace(Node n, List<Value> replacement) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < n.outputs().size(); i++) {
                Value old = n.output(i), r = replacement.get(i);
                names.add(old.name());
                if (r != null) old.replaceAllUsesWith(r);
            }
            g.removeNode(n);
            for (int i = 0; i < names.size(); i++)
                if (replacement.get(i) != null && !names.get(i).isEmpty()) replacement.get(i).rename(names.get(i));
        }

        boolean isSquare(Value v) {
            Node p = v == null ? null : v.producer();
            if (p == null || !p.isDefaultDomain()) return false;
            if (p.is("Mul")) return p.inputs().size() == 2 && p.input(0) == p.input(1);
            if (!p.is("Pow") || p.inputs().size() < 2) return false;
            Tensor e = constantValue(p.input(1));
            return e != null && e.elementCount() == 1 && e.dataType() != DataType.STRING && e.toDoubles()[0] == 2.0;
        }

        private static Tensor constantValue(Value v) {
            if (v == null) return null;
            if (v.isInitializer() && !v.isGraphInput()) return v.constant();
            Node p = v.producer();
            return p != null && p.is("Constant") ? p.attribute("value").map(Attribute::tensorValue).orElse(null) : null;
        }

        /** [axis, ..., last]; negative axes need no rank. */
        private long[] normalisedAxes(Node n, NormOp op) {
            long axis = op.lastAxisOnly ? -1 : n.intAttr("axis", -1);
            if (axis < 0) {
                long[] axes = new long[(int) -axis];
                for (int i = 0; i < axes.length; i++) axes[i] = axis + i;
                return axes;
            }
            int rank = rank(n.input(0));
            if (rank <= 0)
                throw new IllegalArgumentException(what(n) + ": axis " + axis + " needs the rank of input '" + n.input(0).name() + "', which is unknown");
            long[] axes = new long[rank - (int) axis];
            for (int i = 0; i < axes.length; i++) axes[i] = axis + i;
            return axes;
        }

        private int rank(Value v) {
            OrtTensorType t = v.graph() == main ? ortMain.get(v.name()) : null;
            if (t != null && t.shape() != null) return t.shape().length;
            return v.type() != null && v.type().shape() != null ? v.type().shape().size() : -1;
        }

        /** ReduceSum(x) / d. */
        private Value mean(Value x, long[] axes, long keepdims) {
            Value sum = reduceSum(x, axes, keepdims);
            return emit("Div", List.of(sum, size(x, sum)));
        }

        /** d = Size(x) / Size(reduced), as a float. */
        private Value size(Value x, Value reduced) {
            Value ratio = emit("Div", List.of(emit("Size", List.of(x)), emit("Size", List.of(reduced))));
            return emit("Cast", List.of(ratio), Attribute.ofInt("to", DataType.FLOAT.code()));
        }

        /** axes null: every axis. */
        private Value reduceSum(Value x, long[] axes, long keepdims) {
            Attribute keep = Attribute.ofInt("keepdims", keepdims);
            if (axes == null) return emit("ReduceSum", List.of(x), keep);
            if (!axesAsInput) return emit("ReduceSum", List.of(x), Attribute.ofInts("axes", axes), keep);
            Value axesValue = g.addConstant(prefix + "axes", ArrayTensor.ofLongs(new long[]{axes.length}, axes));
            return emit("ReduceSum", List.of(x, axesValue), keep);
        }

        private Value scalar(float v) {
            return g.addConstant(prefix + "c", ArrayTensor.scalarFloat(v));
        }

        private Value emit(String op, List<Value> inputs, Attribute... attrs) {
            String out = g.unusedName(prefix + op.toLowerCase() + count);
            Node node = g.addNodeBefore(anchor, op, "", prefix + op + "_" + count++, inputs, List.of(out));
            for (Attribute a : attrs) node.setAttribute(a);
            return node.output(0);
        }

        private static boolean present(List<Value> values, int index) {
            return index >= 0 && index < values.size() && values.get(index) != null && !values.get(index).name().isEmpty();
        }

        private static String what(Node n) {
            return "norm '" + n.name() + "' (" + n.opType() + ")";
        }
    }
}
