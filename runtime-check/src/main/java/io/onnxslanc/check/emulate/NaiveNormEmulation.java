package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.Protos;
import io.onnxslanc.check.model.OrtTypeInference;
import io.onnxslanc.check.model.OrtTensorType;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * "fp16-naive-norms": fp16-storage, and in addition every norm computes its statistics the way a naive FP16
 * kernel does. Fused norms are rewritten in decomposed form (mean subtraction for LayerNorm, square, ReduceSum,
 * divide by d, add eps, Sqrt, divide, scale, shift); the ReduceMean of a decomposed norm's squares becomes
 * ReduceSum then divide by d. The storage pass then rounds every one of these steps to FP16, so the sum of
 * squares is inf as soon as it exceeds 65504, i.e. once RMS(x) > sqrt(65504 / d), as on real naive FP16 hardware.
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

    static ModelProto apply(ModelProto model) {
        return Fp16StorageEmulation.apply(decompose(model));
    }

    static ModelProto decompose(ModelProto model) {
        return decompose(model, Set.of());
    }

    /** As {@link #decompose(ModelProto)}, leaving the nodes named in {@code fp32Nodes} as they are (they compute in FP32). */
    static ModelProto decompose(ModelProto model, Set<String> fp32Nodes) {
        GraphProto g = model.getGraph();
        Fp16StorageEmulation.rejectSubgraphs(g);
        Rewrite r = new Rewrite(model);
        for (NodeProto n : g.getNodeList()) {
            NormOp op = DOMAINS.contains(n.getDomain()) ? FUSED.get(n.getOpType()) : null;
            if (fp32Nodes.contains(n.getName()) && !n.getName().isEmpty()) r.nodes.add(n);
            else if (op != null) r.fused(n, op);
            else if (n.getOpType().equals("ReduceMean") && n.getDomain().isEmpty() && r.isSquare(n.getInput(0))) r.meanOfSquares(n);
            else r.nodes.add(n);
        }
        GraphProto.Builder out = g.toBuilder().clearNode().addAllNode(r.nodes).addAllInitializer(r.constants);
        return model.toBuilder().setGraph(out).build();
    }

    /**
     * Emits the replacement nodes and their constants. d, the number of values a norm reduces over, is computed at
     * run time as Size(x) / Size(sum): exported graphs often lose the static rank after attention reshapes.
     */
    private static final class Rewrite {
        final List<NodeProto> nodes = new ArrayList<>();
        final List<TensorProto> constants = new ArrayList<>();
        final ModelProto model;
        final Map<String, NodeProto> producers = new HashMap<>();
        final Map<String, TensorProto> constantValues = new HashMap<>();
        final CastPairs names;
        final boolean axesAsInput;
        Map<String, OrtTensorType> types; // inferred only when a norm with a positive axis needs the rank
        String prefix = "";
        int count;

        Rewrite(ModelProto model) {
            this.model = model;
            GraphProto g = model.getGraph();
            names = new CastPairs(Fp16StorageEmulation.allNames(g));
            long opset = Protos.opset(model, "");
            axesAsInput = opset >= 13 || opset < 0; // ReduceSum takes axes as an input from opset 13
            for (TensorProto t : g.getInitializerList()) constantValues.put(t.getName(), t);
            for (NodeProto n : g.getNodeList()) {
                for (String o : n.getOutputList()) producers.put(o, n);
                AttributeProto v = Protos.attr(n, "value");
                if (n.getOpType().equals("Constant") && v != null && v.hasT()) constantValues.put(n.getOutput(0), v.getT());
            }
        }

        void fused(NodeProto n, NormOp op) {
            prefix = "emu_norm_" + (n.getName().isEmpty() ? "n" + nodes.size() : n.getName()) + "_";
            String x = n.getInput(0);
            if (op.skip >= 0) {
                boolean hasBias = present(n.getInputList(), op.bias);
                String sumOut = present(n.getOutputList(), op.sumOut) ? n.getOutput(op.sumOut) : null;
                x = emit("Add", List.of(x, n.getInput(op.skip)), hasBias ? null : sumOut);
                if (hasBias) x = emit("Add", List.of(x, n.getInput(op.bias)), sumOut);
            }
            long[] axes = normalisedAxes(n, op);
            String eps = scalar(Protos.floatAttr(n, "epsilon", op.defaultEps));

            String xc = x, mean = null;
            if (op.centered) {
                mean = mean(x, axes, 1);
                xc = emit("Sub", List.of(x, mean), null);
            }
            String meanSq = mean(emit("Mul", List.of(xc, xc), null), axes, 1);
            String rms = emit("Sqrt", List.of(emit("Add", List.of(meanSq, eps), null)), null);
            boolean hasBeta = present(n.getInputList(), op.beta);
            String scaled = emit("Mul", List.of(emit("Div", List.of(xc, rms), null), n.getInput(op.gamma)), hasBeta ? null : n.getOutput(0));
            if (hasBeta) emit("Add", List.of(scaled, n.getInput(op.beta)), n.getOutput(0));

            for (int i = 1; i < n.getOutputCount(); i++) {
                if (n.getOutput(i).isEmpty() || i == op.sumOut) continue;
                if (i == op.invStdOut) emit("Reciprocal", List.of(rms), n.getOutput(i));
                else if (i == op.meanOut && mean != null) emit("Identity", List.of(mean), n.getOutput(i));
                else throw new IllegalArgumentException(what(n) + ": output " + i + " ('" + n.getOutput(i) + "') is not supported by the naive-norm emulation");
            }
        }

        /** ReduceMean(x^2) -> ReduceSum(x^2) / d. */
        void meanOfSquares(NodeProto n) {
            prefix = "emu_norm_" + (n.getName().isEmpty() ? "n" + nodes.size() : n.getName()) + "_";
            AttributeProto attrAxes = Protos.attr(n, "axes");
            long[] axes = attrAxes != null ? attrAxes.getIntsList().stream().mapToLong(Long::longValue).toArray() : null;
            if (axes == null && n.getInputCount() > 1 && !n.getInput(1).isEmpty()) {
                TensorProto t = constantValues.get(n.getInput(1));
                if (t == null) { // axes computed at run time: leave the node as it is
                    nodes.add(n);
                    return;
                }
                axes = Protos.longs(t);
            }
            if (axes == null && Protos.intAttr(n, "noop_with_empty_axes", 0) == 1) { // a no-op reduction
                nodes.add(n);
                return;
            }
            String sum = reduceSum(n.getInput(0), axes, Protos.intAttr(n, "keepdims", 1));
            emit("Div", List.of(sum, size(n.getInput(0), sum)), n.getOutput(0));
        }

        boolean isSquare(String tensor) {
            NodeProto p = producers.get(tensor);
            if (p == null || !p.getDomain().isEmpty()) return false;
            if (p.getOpType().equals("Mul")) return p.getInputCount() == 2 && p.getInput(0).equals(p.getInput(1));
            if (!p.getOpType().equals("Pow") || p.getInputCount() < 2) return false;
            Double e = scalarValue(constantValues.get(p.getInput(1)));
            return e != null && e == 2.0;
        }

        /** [axis, ..., last]; negative axes need no rank. */
        private long[] normalisedAxes(NodeProto n, NormOp op) {
            long axis = op.lastAxisOnly ? -1 : Protos.intAttr(n, "axis", -1);
            if (axis < 0) {
                long[] axes = new long[(int) -axis];
                for (int i = 0; i < axes.length; i++) axes[i] = axis + i;
                return axes;
            }
            if (types == null) types = OrtTypeInference.infer(model);
            OrtTensorType t = types.get(n.getInput(0));
            if (t == null || t.shape() == null || t.shape().length == 0)
                throw new IllegalArgumentException(what(n) + ": axis " + axis + " needs the rank of input '" + n.getInput(0) + "', which is unknown");
            long[] axes = new long[t.shape().length - (int) axis];
            for (int i = 0; i < axes.length; i++) axes[i] = axis + i;
            return axes;
        }

        /** ReduceSum(x) / d. */
        private String mean(String x, long[] axes, long keepdims) {
            String sum = reduceSum(x, axes, keepdims);
            return emit("Div", List.of(sum, size(x, sum)), null);
        }

        /** d = Size(x) / Size(reduced), as a float. */
        private String size(String x, String reduced) {
            String ratio = emit("Div", List.of(emit("Size", List.of(x), null), emit("Size", List.of(reduced), null)), null);
            return emit("Cast", List.of(ratio), null, Protos.intAttr("to", DataType.FLOAT_VALUE));
        }

        /** axes null: every axis. */
        private String reduceSum(String x, long[] axes, long keepdims) {
            AttributeProto keep = Protos.intAttr("keepdims", keepdims);
            if (axes == null) return emit("ReduceSum", List.of(x), null, keep);
            if (!axesAsInput) return emit("ReduceSum", List.of(x), null, Protos.intsAttr("axes", axes), keep);
            String axesName = names.fresh(prefix + "axes");
            constants.add(Protos.longTensor(axesName, new long[]{axes.length}, axes));
            return emit("ReduceSum", List.of(x, axesName), null, keep);
        }

        private String scalar(float v) {
            String name = names.fresh(prefix + "c");
            constants.add(Protos.floatTensor(name, new long[0], new float[]{v}));
            return name;
        }

        private String emit(String op, List<String> inputs, String output, AttributeProto... attrs) {
            String out = output != null ? output : names.fresh(prefix + op.toLowerCase() + count);
            nodes.add(Protos.node(op, prefix + op + "_" + count++, inputs, List.of(out), attrs));
            return out;
        }

        private static boolean present(List<String> names, int index) {
            return index >= 0 && index < names.size() && !names.get(index).isEmpty();
        }

        private static String what(NodeProto n) {
            return "norm '" + n.getName() + "' (" + n.getOpType() + ")";
        }
    }

    /** A one-element FLOAT, DOUBLE or integer tensor's value, else null. */
    static Double scalarValue(TensorProto t) {
        if (t == null || Protos.isExternal(t)) return null;
        return switch (t.getDataType()) {
            case DataType.FLOAT_VALUE -> { float[] v = Protos.floats(t); yield v.length == 1 ? (double) v[0] : null; }
            case DataType.INT64_VALUE, DataType.INT32_VALUE -> { long[] v = Protos.longs(t); yield v.length == 1 ? (double) v[0] : null; }
            case DataType.DOUBLE_VALUE -> {
                if (!t.getRawData().isEmpty())
                    yield t.getRawData().size() == 8 ? t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).getDouble() : null;
                yield t.getDoubleDataCount() == 1 ? t.getDoubleData(0) : null;
            }
            default -> null;
        };
    }
}
