package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.Protos;
import io.onnxslanc.check.model.TensorTypes;
import io.onnxslanc.check.model.TensorTypes.TensorType;
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
        GraphProto g = model.getGraph();
        Fp16StorageEmulation.rejectSubgraphs(g);
        Rewrite r = new Rewrite(model, TensorTypes.infer(model));
        for (NodeProto n : g.getNodeList()) {
            NormOp op = DOMAINS.contains(n.getDomain()) ? FUSED.get(n.getOpType()) : null;
            if (op != null) r.fused(n, op);
            else if (n.getOpType().equals("ReduceMean") && n.getDomain().isEmpty() && r.isSquare(n.getInput(0))) r.meanOfSquares(n);
            else r.nodes.add(n);
        }
        GraphProto.Builder out = g.toBuilder().clearNode().addAllNode(r.nodes).addAllInitializer(r.constants);
        return model.toBuilder().setGraph(out).build();
    }

    /** Emits the replacement nodes and their constants. */
    private static final class Rewrite {
        final List<NodeProto> nodes = new ArrayList<>();
        final List<TensorProto> constants = new ArrayList<>();
        final Map<String, TensorType> types;
        final Map<String, NodeProto> producers = new HashMap<>();
        final Map<String, TensorProto> constantValues = new HashMap<>();
        final CastPairs names;
        final boolean axesAsInput;
        String prefix = "";
        int count;

        Rewrite(ModelProto model, Map<String, TensorType> types) {
            this.types = types;
            GraphProto g = model.getGraph();
            names = new CastPairs(Fp16StorageEmulation.allNames(g));
            axesAsInput = Protos.opset(model, "") >= 13 || Protos.opset(model, "") < 0; // ReduceSum took axes as input from opset 13
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
                boolean hasBias = present(n, op.bias);
                String sumName = present(n.getOutputList(), op.sumOut) && !hasBias ? n.getOutput(op.sumOut) : null;
                x = emit("Add", List.of(x, n.getInput(op.skip)), sumName);
                if (hasBias) x = emit("Add", List.of(x, n.getInput(op.bias)), present(n.getOutputList(), op.sumOut) ? n.getOutput(op.sumOut) : null);
            }
            TensorType t = types.get(n.getInput(0));
            if (t == null || t.shape() == null)
                throw new IllegalArgumentException(what(n) + ": the shape of input '" + n.getInput(0) + "' is unknown");
            int rank = t.shape().length;
            long axis = op.lastAxisOnly ? -1 : Protos.intAttr(n, "axis", -1);
            if (axis < 0) axis += rank;
            long[] axes = new long[rank - (int) axis];
            for (int i = 0; i < axes.length; i++) axes[i] = axis + i;
            String d = scalar(normalisedSize(n, t.shape(), axes));
            String eps = scalar(Protos.floatAttr(n, "epsilon", op.defaultEps));

            String xc = x, mean = null;
            if (op.centered) {
                mean = emit("Div", List.of(reduceSum(x, axes, 1), d), null);
                xc = emit("Sub", List.of(x, mean), null);
            }
            String meanSq = emit("Div", List.of(reduceSum(emit("Mul", List.of(xc, xc), null), axes, 1), d), null);
            String rms = emit("Sqrt", List.of(emit("Add", List.of(meanSq, eps), null)), null);
            boolean hasBeta = present(n, op.beta);
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
            long[] axes = reduceAxes(n);
            TensorType t = types.get(n.getInput(0));
            if (axes == null || t == null || t.shape() == null) { // no-op reduction or unknown rank: keep as it is
                nodes.add(n);
                return;
            }
            if (axes.length == 0) {
                axes = new long[t.shape().length];
                for (int i = 0; i < axes.length; i++) axes[i] = i;
            }
            String sum = reduceSum(n.getInput(0), axes, Protos.intAttr(n, "keepdims", 1));
            emit("Div", List.of(sum, scalar(normalisedSize(n, t.shape(), axes))), n.getOutput(0));
        }

        boolean isSquare(String tensor) {
            NodeProto p = producers.get(tensor);
            if (p == null || !p.getDomain().isEmpty()) return false;
            if (p.getOpType().equals("Mul")) return p.getInputCount() == 2 && p.getInput(0).equals(p.getInput(1));
            if (!p.getOpType().equals("Pow") || p.getInputCount() < 2) return false;
            Double e = scalarValue(constantValues.get(p.getInput(1)));
            return e != null && e == 2.0;
        }

        /** Axes of a ReduceMean (attribute before opset 18, input after); empty = all; null = no-op. */
        private long[] reduceAxes(NodeProto n) {
            AttributeProto a = Protos.attr(n, "axes");
            if (a != null) return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
            if (n.getInputCount() > 1 && !n.getInput(1).isEmpty()) {
                TensorProto t = constantValues.get(n.getInput(1));
                return t == null ? null : Protos.longs(t);
            }
            return Protos.intAttr(n, "noop_with_empty_axes", 0) == 1 ? null : new long[0];
        }

        private long normalisedSize(NodeProto n, long[] shape, long[] axes) {
            long d = 1;
            for (long a : axes) {
                long dim = shape[(int) (a < 0 ? a + shape.length : a)];
                if (dim <= 0)
                    throw new IllegalArgumentException(what(n) + ": the size of the normalised axes of '" + n.getInput(0)
                            + "' is unknown (shape " + java.util.Arrays.toString(shape) + ")");
                d *= dim;
            }
            return d;
        }

        private String reduceSum(String x, long[] axes, long keepdims) {
            if (!axesAsInput)
                return emit("ReduceSum", List.of(x), null, Protos.intsAttr("axes", axes), Protos.intAttr("keepdims", keepdims));
            String axesName = names.fresh(prefix + "axes");
            constants.add(Protos.longTensor(axesName, new long[]{axes.length}, axes));
            return emit("ReduceSum", List.of(x, axesName), null, Protos.intAttr("keepdims", keepdims));
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

        private static boolean present(NodeProto n, int index) {
            return present(n.getInputList(), index);
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
