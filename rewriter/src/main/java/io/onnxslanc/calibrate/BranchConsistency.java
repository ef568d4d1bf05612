package io.onnxslanc.calibrate;

import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.calibrate.blocks.NormNames;
import io.onnxslanc.calibrate.blocks.WeightRef;
import io.onnxslanc.calibrate.blocks.WeightRole;
import io.onnxslanc.canon.ConstantFolder;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.GraphScopes;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormSite;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Branches that hold the same decoder must get the same scales. A merged decoder (Optimum's decoder_model_merged:
 * the decoder with and without past as the two branches of an If, reading one set of weights from the outer graph)
 * holds every norm twice; the copies read the same gain and the same weights, so their scales must agree. This
 * check compares the norms of different graphs that read one gain initializer and reports each disagreement: a
 * scale that differs although the weights are the same, or a norm scaled in one graph and left unscaled in another.
 */
public final class BranchConsistency {
    private BranchConsistency() {
    }

    /** One line per disagreement, in the order of {@code calibrations}; empty when the copies agree. */
    public static List<String> check(List<NormCalibration> calibrations) {
        Map<Value, List<NormCalibration>> byGain = new IdentityHashMap<>();
        List<Value> order = new ArrayList<>();
        for (NormCalibration c : calibrations) {
            Value gain = gain(c.block().site());
            if (gain != null) {
                byGain.computeIfAbsent(gain, k -> {
                    order.add(k);
                    return new ArrayList<>();
                }).add(c);
            }
        }
        List<String> out = new ArrayList<>();
        for (Value gain : order) {
            List<NormCalibration> copies = byGain.get(gain);
            NormCalibration reference = copies.get(0);
            for (NormCalibration other : copies.subList(1, copies.size())) {
                if (graph(other) != graph(reference)) {
                    compare(reference, other, out);
                }
            }
        }
        return out;
    }

    private static void compare(NormCalibration a, NormCalibration b, List<String> out) {
        String what = "norm '" + NormNames.of(a.block().site()) + "' in " + where(a) + " and norm '"
                + NormNames.of(b.block().site()) + "' in " + where(b) + " read gain '" + gain(a.block().site()).name() + "'";
        if ((a.scale() == null) != (b.scale() == null)) {
            NormCalibration unscaled = a.scale() == null ? a : b;
            out.add(what + ", but only one is scaled (" + where(unscaled) + ": " + unscaled.reason() + ")");
        } else if (a.scale() != null && !a.scale().equals(b.scale()) && sameInputs(a.block(), b.block())) {
            out.add(what + " and the same weights, but get s = " + a.scale() + " and s = " + b.scale());
        }
    }

    /** Same formula, same weights (the same initializer, seen from each norm's graph) and gains of equal values. */
    private static boolean sameInputs(NormBlock a, NormBlock b) {
        if (a.formula() != b.formula() || !a.weights().keySet().equals(b.weights().keySet())) {
            return false;
        }
        Graph ga = a.site().root().graph();
        Graph gb = b.site().root().graph();
        for (Map.Entry<WeightRole, WeightRef> e : a.weights().entrySet()) {
            WeightRef wa = e.getValue();
            WeightRef wb = b.weights().get(e.getKey());
            Value va = ga.lookup(wa.name());
            if (va == null || va != gb.lookup(wb.name()) || wa.outFrom() != wb.outFrom() || wa.outTo() != wb.outTo()
                    || wa.groups() != wb.groups() || wa.groupStride() != wb.groupStride() || wa.factor() != wb.factor()
                    || !java.util.Arrays.equals(wa.rowScales(), wb.rowScales())) {
                return false;
            }
        }
        return sameValues(a.gamma(), b.gamma()) && sameValues(a.secondGamma(), b.secondGamma());
    }

    private static boolean sameValues(Value a, Value b) {
        if (a == null || b == null) {
            return a == b;
        }
        Tensor ta = ConstantFolder.value(a);
        Tensor tb = ConstantFolder.value(b);
        return ta != null && tb != null && Arrays.equals(ta.toDoubles(), tb.toDoubles());
    }

    /** The norm's own gain initializer as its graph sees it (an outer one is the same value in every branch). */
    private static Value gain(NormSite site) {
        String name = site.gainName();
        return name == null ? null : site.root().graph().lookup(name);
    }

    private static Graph graph(NormCalibration c) {
        return c.block().site().root().graph();
    }

    private static String where(NormCalibration c) {
        return Objects.requireNonNullElse(GraphScopes.describe(graph(c)), "the main graph");
    }
}
