package io.onnxslanc.rewrite;

import io.onnxslanc.match.Constants;
import io.onnxslanc.calibrate.NormCalibration;
import io.onnxslanc.calibrate.blocks.NormNames;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.ElementTypes;
import io.onnxslanc.ir.FloatBits;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Epsilon;
import io.onnxslanc.match.NormSite;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies SLaNC scales to a model: the norm's input is multiplied by 1/s on the edges into the norm only, and its
 * epsilon becomes epsilon / s^2, which leaves the norm's output unchanged in exact arithmetic (docs/method.md).
 *
 * <ul>
 *   <li>The Mul is inserted just before the norm's first node, outside the norm, so ONNX Runtime's
 *       SimplifiedLayerNormFusion still sees the untouched Pow/ReduceMean/... chain behind it. Other consumers of
 *       the residual stream keep the unscaled tensor; weights are not modified.</li>
 *   <li>The 1/s constant has the input's element type. Epsilon is rescaled by the square of the factor actually
 *       stored (so the identity holds even when s is not a power of two); a decomposed norm gets a NEW epsilon
 *       constant, since the old one may be shared with other norms.</li>
 *   <li>Skip(Simplified)LayerNormalization: both the input and the skip operand (and the bias, as a new constant)
 *       are scaled, and the outputs other than the normalised one are multiplied back for their consumers (the
 *       residual sum by s). Compensating keeps the fused kernel, which unfusing would lose; since the calibrator
 *       rounds these scales to powers of two, multiplying back is exact and the residual stream is bit-identical
 *       as long as it stays in the normal range.</li>
 *   <li>The model is marked with metadata {@value #MARKER} and the Muls are named {@value #MUL_PREFIX}..., so a second
 *       run recognises a calibrated model and changes nothing.</li>
 * </ul>
 */
public final class SlancRewrite {
    public static final String MARKER = "slanc.calibrated";
    public static final String VERSION = "1";
    public static final String MUL_PREFIX = "slanc_scale_";

    /** The smallest positive FP16 number is 2^-24; anything below half of it rounds to zero. */
    private static final double FP16_UNDERFLOW = 0x1p-25;

    /**
     * What happened to one norm.
     *
     * @param calibration   the scale it was given
     * @param epsilonBefore epsilon as found
     * @param epsilonAfter  epsilon as written (decoded from the stored constant); equal to before when unscaled
     * @param multiplier    the factor stored in the inserted Mul (1/s as encoded), or null when nothing was inserted
     * @param warnings      problems worth a look (epsilon underflow, inexact bias scaling, ...)
     */
    public record Applied(NormCalibration calibration, double epsilonBefore, double epsilonAfter, Double multiplier,
                          List<String> warnings) {
        public Applied {
            warnings = List.copyOf(warnings);
        }
    }

    private SlancRewrite() {
    }

    /** True when the model carries the marker or a {@value #MUL_PREFIX} Mul already feeds one of the norms. */
    public static boolean isCalibrated(Model model, List<NormSite> sites) {
        if (model.metadata().containsKey(MARKER)) {
            return true;
        }
        for (NormSite s : sites) {
            for (Value.Use u : s.entryUses()) {
                Value v = u.node().input(u.index());
                Node p = v == null ? null : v.producer();
                if (p != null && p.is("Mul") && p.name().startsWith(MUL_PREFIX)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** What {@link #apply} would do, without touching the model (epsilon after = epsilon / s^2 in double). */
    public static List<Applied> preview(List<NormCalibration> calibrations) {
        List<Applied> out = new ArrayList<>();
        for (NormCalibration c : calibrations) {
            double eps = c.block().site().epsilon().value();
            if (!c.changesModel()) {
                out.add(new Applied(c, eps, eps, null, List.of()));
            } else {
                double s = c.scale();
                out.add(new Applied(c, eps, eps / (s * s), 1 / s, List.of()));
            }
        }
        return out;
    }

    /**
     * Rewrites the model in place and marks it calibrated. Each norm is edited in the graph holding it (an If branch
     * or a Loop / Scan body for a norm inside one): its Mul and its new constants are added there, so nothing that
     * branches share in the outer graph (the input, the weights, an epsilon constant) is changed for one of them.
     */
    public static List<Applied> apply(Model model, List<NormCalibration> calibrations) {
        ElementTypes types = ElementTypes.infer(model.graph()); // covers every subgraph
        List<Applied> out = new ArrayList<>();
        for (NormCalibration c : calibrations) {
            out.add(c.changesModel() ? applyOne(c.block().site().root().graph(), c, types) : unchanged(c, List.of()));
        }
        model.metadata().put(MARKER, VERSION);
        return out;
    }

    private static Applied unchanged(NormCalibration c, List<String> warnings) {
        double eps = c.block().site().epsilon().value();
        return new Applied(c, eps, eps, null, warnings);
    }

    /**
     * The type of the norm's input, which the inserted constant must share: inferred, else (for a value the inference
     * cannot type) the norm's own evidence, its gain and epsilon constant having the input's type. Null when nothing
     * tells.
     */
    private static DataType normInputType(NormSite site, ElementTypes types) {
        DataType t = types.of(site.input());
        if (t != null && t.isFloatingPoint()) {
            return t;
        }
        Tensor gamma = io.onnxslanc.canon.ConstantFolder.value(site.gamma());
        if (gamma != null && gamma.dataType().isFloatingPoint()) {
            return gamma.dataType();
        }
        if (site.epsilon() instanceof Epsilon.InTensor e) {
            Tensor eps = Constants.tensor(e.addNode().input(e.inputIndex()));
            if (eps != null && eps.dataType().isFloatingPoint()) {
                return eps.dataType();
            }
        }
        return t;
    }

    private static Applied applyOne(Graph graph, NormCalibration c, ElementTypes types) {
        NormSite site = c.block().site();
        List<String> warnings = new ArrayList<>();
        DataType type = normInputType(site, types);
        if (type == null || !FloatBits.canEncode(type)) {
            warnings.add("norm '" + NormNames.of(site) + "' left unscaled: the element type of its input '" + site.input().name()
                    + "' is " + (type == null ? "unknown" : type));
            return unchanged(c, warnings);
        }
        for (Value side : site.sideOutputs()) {
            int index = site.root().outputs().indexOf(side);
            if (!sideOutputFactors(site, 2.0, 0.5).containsKey(index)) {
                warnings.add("norm '" + NormNames.of(site) + "' left unscaled: its intermediate '" + side.name()
                        + "' is used outside the norm and would change with the input's scale");
                return unchanged(c, warnings);
            }
        }
        double s = c.scale();
        ArrayTensor inv = ArrayTensor.ofReals(type, new long[0], 1 / s);
        double f = inv.toDoubles()[0];
        if (!(f > 0) || Double.isInfinite(f)) {
            warnings.add("norm '" + NormNames.of(site) + "' left unscaled: 1/s = " + (1 / s) + " is not representable in " + type);
            return unchanged(c, warnings);
        }
        for (Value.Use u : site.entryUses()) {
            if (u.node().input(u.index()) == null) {
                throw new IllegalStateException("norm '" + NormNames.of(site) + "': entry edge " + u + " is empty");
            }
        }
        Value factor = graph.addConstant(MUL_PREFIX + NormNames.of(site) + "_factor", inv);
        Node anchor = firstNode(graph, site);
        scaleEntryEdges(graph, site, anchor, factor);
        if (site.kind().hasSkipInput()) {
            scaleSkipBias(graph, site, anchor, factor, f, warnings);
        }
        compensateSideOutputs(graph, site, s, f, type);
        double epsAfter = rescaleEpsilon(site, f, "slanc_epsilon_" + NormNames.of(site), warnings);
        return new Applied(c, site.epsilon().value(), epsAfter, f, warnings);
    }

    /** The earliest node (in graph order) of the norm or of its entry edges: the Mul goes right before it. */
    private static Node firstNode(Graph graph, NormSite site) {
        Map<Node, Boolean> candidates = new IdentityHashMap<>();
        candidates.put(site.root(), true);
        for (Value.Use u : site.entryUses()) {
            candidates.put(u.node(), true);
        }
        for (Node n : graph.nodes()) {
            if (candidates.containsKey(n)) {
                return n;
            }
        }
        throw new IllegalStateException("norm '" + NormNames.of(site) + "' is not in the graph holding its root");
    }

    /** One Mul per distinct value entering the norm (input and skip of Skip* ops), each use redirected to it. */
    private static void scaleEntryEdges(Graph graph, NormSite site, Node anchor, Value factor) {
        Map<Value, List<Value.Use>> byValue = new LinkedHashMap<>();
        for (Value.Use u : site.entryUses()) {
            byValue.computeIfAbsent(u.node().input(u.index()), k -> new ArrayList<>()).add(u);
        }
        int i = 0;
        for (Map.Entry<Value, List<Value.Use>> e : byValue.entrySet()) {
            Value x = e.getKey();
            String suffix = byValue.size() == 1 ? "" : "_" + i++;
            Node mul = graph.addNodeBefore(anchor, "Mul", "", graph.uniqueName(MUL_PREFIX + NormNames.of(site) + suffix),
                    List.of(x, factor), List.of(graph.uniqueName(x.name() + "_slanc")));
            Value scaled = mul.output(0);
            scaled.setType(x.type());
            for (Value.Use u : e.getValue()) {
                u.node().setInput(u.index(), scaled);
            }
        }
    }

    /** The bias of a Skip* op enters the same sum as input and skip, so it is scaled too (a new constant). */
    private static void scaleSkipBias(Graph graph, NormSite site, Node anchor, Value factor, double f, List<String> warnings) {
        Node root = site.root();
        Value bias = root.input(4);
        if (bias == null) {
            return;
        }
        Tensor t = Constants.tensor(bias);
        if (t == null || !FloatBits.canEncode(t.dataType())) {
            Node mul = graph.addNodeBefore(anchor, "Mul", "", graph.uniqueName(MUL_PREFIX + NormNames.of(site) + "_bias"),
                    List.of(bias, factor), List.of(graph.uniqueName(bias.name() + "_slanc")));
            mul.output(0).setType(bias.type());
            root.setInput(4, mul.output(0));
            return;
        }
        double[] v = t.toDoubles();
        double[] scaled = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            scaled[i] = v[i] * f;
        }
        ArrayTensor nt = ArrayTensor.ofReals(t.dataType(), t.dims(), scaled);
        double[] back = nt.toDoubles();
        for (int i = 0; i < v.length; i++) {
            if (back[i] != scaled[i]) {
                warnings.add("bias '" + bias.name() + "' of norm '" + NormNames.of(site) + "' is not exactly representable after "
                        + "scaling in " + t.dataType() + " (element " + i + ": " + scaled[i] + " stored as " + back[i] + ")");
                break;
            }
        }
        root.setInput(4, graph.addConstant(MUL_PREFIX + NormNames.of(site) + "_bias", nt));
    }

    /**
     * Outputs besides the normalised one see the scaled input: mean and the residual sum are 1/s times the original,
     * the inverse standard deviation s times. Each used one is multiplied back for its consumers; the restored value
     * takes over the original name, so graph outputs keep their names.
     */
    private static void compensateSideOutputs(Graph graph, NormSite site, double s, double f, DataType inputType) {
        Node root = site.root();
        Map<Integer, Double> factors = sideOutputFactors(site, s, f);
        for (int index = 1; index < root.outputs().size(); index++) {
            Value out = root.output(index);
            Double k = factors.get(index);
            if (k == null || out.name().isEmpty() || out.uses().isEmpty() && !out.isGraphOutput()) {
                continue;
            }
            boolean isSum = index == 3;
            DataType t = out.elemType() != null ? out.elemType() : isSum ? inputType : DataType.FLOAT;
            Value constant = graph.addConstant(MUL_PREFIX + NormNames.of(site) + "_restore" + index,
                    ArrayTensor.ofReals(t, new long[0], k));
            String name = out.name();
            out.rename(graph.unusedName(name + "_slanc_scaled"));
            int at = graph.nodes().indexOf(root);
            List<Value> inputs = List.of(out, constant);
            Node restore = at + 1 < graph.nodes().size()
                    ? graph.addNodeBefore(graph.nodes().get(at + 1), "Mul", "", graph.uniqueName(MUL_PREFIX + NormNames.of(site) + "_restore"),
                    inputs, List.of(name))
                    : graph.addNode("Mul", "", graph.uniqueName(MUL_PREFIX + NormNames.of(site) + "_restore"), inputs, List.of(name));
            Value restored = restore.output(0);
            restored.setType(out.type());
            for (Value.Use u : new ArrayList<>(out.uses())) {
                if (u.node() != restore) {
                    u.node().setInput(u.index(), restored);
                }
            }
            for (int i = 0; i < graph.outputs().size(); i++) {
                if (graph.outputs().get(i) == out) {
                    graph.setOutput(i, restored);
                }
            }
        }
    }

    /**
     * Output index -> factor that restores it, for the fused ops: mean (1) and residual sum (3) scale with the input,
     * so they are multiplied by s; the inverse standard deviation (2, or 1 for SimplifiedLayerNormalization) by f = 1/s.
     */
    private static Map<Integer, Double> sideOutputFactors(NormSite site, double s, double f) {
        return switch (site.kind()) {
            case LAYER_NORMALIZATION -> Map.of(1, s, 2, f);
            case SIMPLIFIED_LAYER_NORMALIZATION -> Map.of(1, f);
            case SKIP_LAYER_NORMALIZATION, SKIP_SIMPLIFIED_LAYER_NORMALIZATION -> Map.of(1, s, 2, f, 3, s);
            default -> Map.of();
        };
    }

    /**
     * Multiplies a norm's epsilon by f^power (power 2 when epsilon is added to the variance, 1 on a standard
     * deviation), as a norm whose input is multiplied by f needs to keep its output: the float attribute of a fused
     * norm, or a new constant {@code constantName} for the norm's Add (in the type the Add sees; the old operand may be
     * shared and is dropped only when nothing else reads it). The rewrite calls it with f = 1/s; other rewrites that
     * change a norm's input scale (the samples' residual amplifier) with theirs. Underflow to 0, or below FP16's
     * smallest subnormal, adds a line to {@code warnings}. Nothing happens for a norm without epsilon.
     *
     * @return the new epsilon as stored
     */
    public static double rescaleEpsilon(NormSite site, double f, String constantName, List<String> warnings) {
        Graph graph = site.root().graph();
        Epsilon eps = site.epsilon();
        double before = eps.value();
        if (eps instanceof Epsilon.InAttribute a) {
            float after = (float) (before * f * f);
            a.node().setAttribute(Attribute.ofFloat(a.attribute(), after));
            if (after == 0 && before > 0) {
                warnings.add("epsilon of norm '" + NormNames.of(site) + "' underflows to 0 in its float32 attribute ("
                        + before + " * " + f + "^2)");
            }
            return after;
        }
        if (eps instanceof Epsilon.InTensor t) {
            // the operand is a constant, possibly behind Cast / Identity (function bodies cast epsilon to the stash
            // type); the new constant is written in the type the Add sees and replaces the whole chain's output
            Value cur = t.addNode().input(t.inputIndex());
            DataType castTo = null;
            while (Constants.tensor(cur) == null && cur.producer() != null
                    && (cur.producer().is("Cast") || cur.producer().is("Identity"))) {
                if (castTo == null && cur.producer().is("Cast")) {
                    castTo = DataType.fromCode((int) cur.producer().intAttr("to", 0));
                }
                cur = cur.producer().input(0);
            }
            Tensor data = Constants.tensor(cur);
            DataType type = castTo != null ? castTo : data == null ? null : data.dataType();
            if (data == null || !FloatBits.canEncode(type) || !data.dataType().isFloatingPoint()) {
                throw new IllegalStateException("norm '" + NormNames.of(site) + "': epsilon operand '"
                        + t.addNode().input(t.inputIndex()).name() + "' is not a float constant");
            }
            double[] v = ArrayTensor.ofReals(type, data.dims(), data.toDoubles()).toDoubles();
            double[] scaled = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                scaled[i] = v[i] * Math.pow(f, t.power()); // eps / s^2 on the variance, eps / s on a standard deviation
            }
            ArrayTensor nt = ArrayTensor.ofReals(type, data.dims(), scaled);
            double after = nt.toDoubles()[0];
            Value old = t.addNode().input(t.inputIndex());
            t.addNode().setInput(t.inputIndex(), graph.addConstant(constantName, nt));
            dropIfUnused(old);
            if (after == 0 && before > 0) {
                warnings.add("epsilon of norm '" + NormNames.of(site) + "' underflows to 0 in " + type + " ("
                        + before + " / s^2 = " + scaled[0] + "); the norm divides by sqrt(variance) alone");
            } else if (type != DataType.FLOAT16 && after > 0 && after < FP16_UNDERFLOW && before >= FP16_UNDERFLOW) {
                warnings.add("epsilon of norm '" + NormNames.of(site) + "' is " + after + " after scaling, below FP16's smallest "
                        + "subnormal: FP16 conversion clamps it to 2^-24 (round to nearest would give 0); harmless while the "
                        + "scaled variance is far larger");
            }
            return after;
        }
        return before;
    }

    /**
     * Removes the replaced epsilon operand (a constant, possibly behind Cast / Identity) once nothing reads it:
     * ONNX Runtime warns about every unused initializer when it loads the model. A shared one stays.
     */
    private static void dropIfUnused(Value v) {
        while (v != null && v.uses().isEmpty() && !v.isGraphOutput() && !v.isGraphInput()) {
            Node p = v.producer();
            if (p == null) {
                if (v.isInitializer()) {
                    v.graph().removeInitializer(v);
                }
                return;
            }
            if (!(p.is("Constant") || p.is("Cast") || p.is("Identity")) || p.outputs().size() != 1) {
                return;
            }
            Value next = p.is("Constant") ? null : p.input(0);
            p.graph().removeNode(p);
            v = next;
        }
    }
}
