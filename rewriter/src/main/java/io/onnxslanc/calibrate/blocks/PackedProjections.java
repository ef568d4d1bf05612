package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Rows of a packed projection: a packed QKV or gate_up weight whose output a Split, a Slice or a Gather of one
 * head group cuts into parts. Each step is a {@link Selection} of a feature range, applied once the projection's
 * width is known.
 */
final class PackedProjections {
    /** One step of a packed-projection selection, as found walking back from V: a feature range of its input. */
    interface Selection {
        /** The range [from, to) this step keeps of an input of {@code width} features, or null if it does not fit. */
        int[] apply(int width);

        String describe();

        /** This step applied to the weight's current selection, or null if it does not fit. */
        default WeightRef applyTo(WeightRef w) {
            int[] r = apply(w.outFeatures());
            return r == null ? null : w.rows(r[0], r[1]);
        }
    }

    private PackedProjections() {
    }

    /**
     * The rows of a packed projection that one output of a Split / Slice of its output keeps (Phi3's gate_up_proj
     * chunk, a packed qkv split outside attention); fails when {@code out} is not such an output.
     */
    static Found<LinearLayer> packedRows(Node splitOrSlice, Value out) {
        Found<LinearLayer> lin = LinearLayer.of(splitOrSlice.input(0).producer() == null ? splitOrSlice
                : splitOrSlice.input(0).producer());
        if (splitOrSlice.input(0).producer() == null || !lin.ok()) {
            return Found.fail("'" + splitOrSlice.name() + "' does not select from the output of a linear layer");
        }
        Found<Selection> s = splitOrSlice.is("Split") ? splitSelection(splitOrSlice, out) : sliceSelection(splitOrSlice);
        if (!s.ok()) {
            return s.cast();
        }
        Deque<Selection> one = new ArrayDeque<>();
        one.push(s.value());
        return select(lin.value(), one);
    }

    /** Applies the collected selections, innermost (closest to the projection) first. */
    static Found<LinearLayer> select(LinearLayer lin, Deque<Selection> selections) {
        WeightRef w = lin.weight();
        for (Selection s : selections) { // push() put the innermost first
            WeightRef next;
            try {
                next = s.applyTo(w);
            } catch (IllegalArgumentException e) {
                next = null;
            }
            if (next == null) {
                return Found.fail(s.describe() + " does not fit the " + w.outFeatures() + " outputs of '" + w.name() + "'");
            }
            w = next;
        }
        return Found.of(new LinearLayer(lin.node(), lin.input(), w));
    }

    /**
     * A Reshape between the packed projection and the Split / Slice steps already collected (which all cut its last
     * axis). Its last dimension g splits the projection's features into groups of g in memory order, whatever the
     * leading dims: the steps keep rows [a, b) of every group. With g the full width that is the plain range (Gemm
     * exports reshape [b*s, 3d] back to [b, s, 3d]); with g smaller, a projection packed per head (GPT-NeoX / BLOOM
     * query_key_value viewed [.., heads, 3 * head_dim], V = [..., 2 * head_dim:]) gives a range in each head's
     * group. The collected steps are folded into this one selection.
     */
    static Found<Selection> groupedReshape(Node reshape, Deque<Selection> steps) {
        long[] shape = ShapeValues.tail(reshape.input(1));
        long last = shape == null || shape.length == 0 ? -1 : shape[shape.length - 1];
        if (last <= 0) { // a -1 in the target (CodeGen's [.., mp_num, -1]): the output's dims as inferred
            long[] dims = io.onnxslanc.canon.ConstantFolder.dims(reshape.output(0));
            last = dims == null || dims.length == 0 ? -1 : dims[dims.length - 1];
        }
        int sourceRank = GraphOps.inferredRank(reshape.input(0));
        if (last <= 0 && shape != null && shape.length >= 2 && shape[shape.length - 2] > 0
                && shape.length == sourceRank + 1) {
            // [.., G, -1] one axis longer than its source: the feature axis split into G groups, the rest kept
            return groupsOfUnknownSize(reshape, (int) shape[shape.length - 2], steps);
        }
        if (last <= 0 || last > Integer.MAX_VALUE) {
            return Found.fail("Reshape '" + reshape.name() + "' between the packed projection and its Split/Slice"
                    + " has no constant last dimension");
        }
        int g = (int) last;
        Found<int[]> kept = withinGroup(g, steps);
        if (!kept.ok()) {
            return Found.fail(kept.reason() + " does not fit the last dimension " + g + " of Reshape '" + reshape.name()
                    + "'");
        }
        final int a = kept.value()[0];
        final int b = kept.value()[1];
        String what = steps.isEmpty() ? "" : " kept by " + steps.peekLast().describe();
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                return width == g ? new int[] {a, b} : null;
            }

            @Override
            public WeightRef applyTo(WeightRef w) {
                return w.perGroup(g, a, b);
            }

            @Override
            public String describe() {
                return "Reshape '" + reshape.name() + "' to last dimension " + g + " (rows [" + a + ", " + b + ") of each group"
                        + what + ")";
            }
        });
    }

    /**
     * The rows [from, to) of a group of {@code g} that {@code steps} keep, applied innermost (closest to the
     * Reshape) first, each to what the one before kept; fails with the description of the step that does not fit.
     */
    private static Found<int[]> withinGroup(int g, Iterable<Selection> steps) {
        int from = 0;
        int to = g;
        for (Selection s : steps) {
            int[] r = s.apply(to - from);
            if (r == null) {
                return Found.fail(s.describe());
            }
            to = from + r[1];
            from += r[0];
        }
        return Found.of(new int[] {from, to});
    }

    /**
     * {@link #groupedReshape} for a target [.., G, -1]: the group size is the projection's width / G, known only
     * when the selection is applied, so the collected steps are applied then, inside one group.
     */
    private static Found<Selection> groupsOfUnknownSize(Node reshape, int groups, Deque<Selection> steps) {
        java.util.List<Selection> inner = new java.util.ArrayList<>(steps); // innermost first
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                return null;
            }

            @Override
            public WeightRef applyTo(WeightRef w) {
                int width = w.outFeatures();
                if (width % groups != 0) {
                    return null;
                }
                int g = width / groups;
                Found<int[]> kept = withinGroup(g, inner);
                return kept.ok() ? w.perGroup(g, kept.value()[0], kept.value()[1]) : null;
            }

            @Override
            public String describe() {
                return "Reshape '" + reshape.name() + "' into " + groups + " groups of the last axis"
                        + (inner.isEmpty() ? "" : " cut by " + inner.get(inner.size() - 1).describe());
            }
        });
    }

    /**
     * V picked as one group of a packed projection viewed as [.., groups, head_dim] (Falcon's multi-query
     * query_key_value: view [.., heads + 2, head_dim], V = [..., [-1], :]): a Gather on the group axis (or a GatherND
     * of one index on axis 0 after Transposes that bring the group axis there) selects rows [g * head_dim,
     * (g + 1) * head_dim) of the projection. Pushes that selection and returns the Reshape it consumed.
     */
    static Found<Node> groupSplit(Node gather, Deque<Selection> selections) {
        long[] idx = GraphOps.constantLongs(gather.input(1));
        boolean nd = gather.opType().equals("GatherND");
        if (idx == null || idx.length != 1 || nd && gather.intAttr("batch_dims", 0) != 0) {
            return Found.fail(gather.opType() + " '" + gather.name() + "' on the V path does not pick one constant index");
        }
        int axis = nd ? 0 : (int) gather.intAttr("axis", 0);
        Value cur = gather.input(0);
        for (int guard = 0; guard < 8 && cur.producer() != null && cur.producer().is("Transpose"); guard++) {
            long[] perm = cur.producer().attribute("perm").map(a -> a.intsValue()).orElse(null);
            if (perm == null || axis < 0 || axis >= perm.length) {
                return Found.fail("Transpose '" + cur.producer().name() + "' before " + gather.opType() + " '" + gather.name()
                        + "' has no usable perm");
            }
            axis = (int) perm[axis];
            cur = cur.producer().input(0);
        }
        Node reshape = cur.producer();
        long[] target = reshape == null || !reshape.is("Reshape") ? null : ShapeValues.tail(reshape.input(1));
        if (target == null || target.length < 2) {
            return Found.fail(gather.opType() + " '" + gather.name() + "' on the V path does not select from a Reshape of a"
                    + " projection into [.., groups, head_dim]");
        }
        int rank = target.length;
        axis = axis < 0 ? axis + rank : axis;
        long headDim = target[rank - 1];
        long groups = target[rank - 2];
        if (axis != rank - 2 || headDim <= 0) {
            return Found.fail(gather.opType() + " '" + gather.name() + "' selects axis " + axis + " of Reshape '" + reshape.name()
                    + "' to " + ShapeValues.text(target) + ", not its group axis before a constant head_dim");
        }
        long g = idx[0];
        selections.push(new Selection() {
            @Override
            public int[] apply(int width) {
                if (width % headDim != 0 || groups > 0 && groups * headDim != width) {
                    return null;
                }
                long n = width / headDim;
                long at = g < 0 ? g + n : g;
                return at < 0 || at >= n ? null : new int[] {(int) (at * headDim), (int) ((at + 1) * headDim)};
            }

            /**
             * With more features than groups x head_dim, the groups repeat along the leading axes (BLOOM views its
             * query_key_value [.., heads, 3, head_dim] and picks V as index 2): the pick is one range in every
             * repeat of groups x head_dim features.
             */
            @Override
            public WeightRef applyTo(WeightRef w) {
                int width = w.outFeatures();
                long repeat = groups * headDim;
                if (groups <= 0 || repeat == width || repeat > width || width % repeat != 0) {
                    return Selection.super.applyTo(w);
                }
                long at = g < 0 ? g + groups : g;
                return at < 0 || at >= groups ? null
                        : w.perGroup((int) repeat, (int) (at * headDim), (int) ((at + 1) * headDim));
            }

            @Override
            public String describe() {
                return gather.opType() + " '" + gather.name() + "' group " + g + " of Reshape '" + reshape.name() + "' to "
                        + ShapeValues.text(target);
            }
        });
        return Found.of(reshape);
    }

    /**
     * A Split or Slice of a non-last axis of a Reshape that cuts the projection's features into several axes
     * (ModernBERT views Wqkv [.., 3, heads, head_dim] and splits the "3"): with the kept leading axes of the source,
     * the target's remaining dims split the features (one of them may be -1 or computed, found from the width); a
     * range [a, b) on axis j keeps rows [a * inner, b * inner) of every block of (dim_j * inner) rows, inner the
     * product of the dims after j. Pushes that selection and returns the Reshape it consumed; fails (with the
     * reason) when {@code op} does not read such a Reshape.
     */
    static Found<Node> featureAxisSelection(Node op, Value out, Deque<Selection> selections) {
        Node reshape = op.input(0).producer();
        long[] target = reshape == null || !reshape.is("Reshape") ? null : ShapeValues.of(reshape.input(1));
        int sourceRank = reshape == null ? -1 : GraphOps.inferredRank(reshape.input(0));
        String what = op.opType() + " '" + op.name() + "'";
        if (target == null || sourceRank < 1 || target.length < sourceRank) {
            return Found.fail(what + " cuts a non-last axis of something other than a Reshape of the projection's features");
        }
        long axis = op.is("Split") ? op.intAttr("axis", 0) : sliceAxis(op);
        int rank = target.length;
        int j = (int) (axis < 0 ? axis + rank : axis);
        int keep = sourceRank - 1;
        if (j < keep || j >= rank) {
            return Found.fail(what + " cuts axis " + axis + " of Reshape '" + reshape.name() + "' to " + ShapeValues.text(target)
                    + ", one of the source's leading axes, not a feature axis");
        }
        long[] dims = Arrays.copyOfRange(target, keep, rank);
        int unknown = 0;
        for (long d : dims) {
            unknown += d <= 0 ? 1 : 0;
        }
        if (unknown > 1) {
            return Found.fail("Reshape '" + reshape.name() + "' to " + ShapeValues.text(target)
                    + " splits the features into more than one unknown dim");
        }
        Found<int[]> cut = axisRange(op, out);
        if (!cut.ok()) {
            return cut.cast();
        }
        int at = j - keep;
        selections.push(new Selection() {
            @Override
            public int[] apply(int width) {
                return null; // acts on the weight (it may repeat per block)
            }

            @Override
            public WeightRef applyTo(WeightRef w) {
                long width = w.outFeatures();
                long known = 1;
                for (long d : dims) {
                    known *= d > 0 ? d : 1;
                }
                if (width % known != 0) {
                    return null;
                }
                long[] full = dims.clone();
                for (int i = 0; i < full.length; i++) {
                    full[i] = full[i] > 0 ? full[i] : width / known;
                }
                long inner = 1;
                for (int i = at + 1; i < full.length; i++) {
                    inner *= full[i];
                }
                long length = full[at];
                if (length * inner > width || width % (length * inner) != 0) {
                    return null;
                }
                int[] r = cut.value();
                long from = r[0] < 0 ? r[0] + length : r[0];
                long to = r[1] == Integer.MAX_VALUE ? length : r[1] < 0 ? r[1] + length : Math.min(r[1], length);
                if (r[2] > 0) { // Split: equal parts when no sizes were given
                    if (length % r[2] != 0) {
                        return null;
                    }
                    from = length / r[2] * r[0];
                    to = from + length / r[2];
                }
                if (from < 0 || to <= from || to > length) {
                    return null;
                }
                return w.perGroup((int) (length * inner), (int) (from * inner), (int) (to * inner));
            }

            @Override
            public String describe() {
                return what + " of axis " + axis + " of Reshape '" + reshape.name() + "' to " + ShapeValues.text(target);
            }
        });
        return Found.of(reshape);
    }

    private static long sliceAxis(Node slice) {
        long[] axes = slice.inputs().size() >= 4 && slice.input(3) != null ? GraphOps.constantLongs(slice.input(3))
                : slice.attribute("axes").map(a -> a.intsValue()).orElse(null);
        return axes == null || axes.length != 1 ? 0 : axes[0];
    }

    /**
     * The range a Split output or a Slice keeps on its axis, as {from, to, parts}: for a Split without sizes
     * {output index, -, number of outputs} (equal parts, resolved once the axis length is known), else parts 0 and
     * to = Integer.MAX_VALUE for "to the end".
     */
    private static Found<int[]> axisRange(Node op, Value out) {
        if (op.is("Split")) {
            int index = op.outputs().indexOf(out);
            long[] sizes = op.input(1) != null ? GraphOps.constantLongs(op.input(1))
                    : op.attribute("split").map(a -> a.intsValue()).orElse(null);
            if (op.input(1) != null && sizes == null) {
                return Found.fail("Split '" + op.name() + "' has computed split sizes");
            }
            if (sizes == null) {
                return Found.of(new int[] {index, 0, op.outputs().size()});
            }
            long from = 0;
            for (int i = 0; i < index; i++) {
                from += sizes[i];
            }
            return Found.of(new int[] {(int) from, (int) (from + sizes[index]), 0});
        }
        long[] starts = op.inputs().size() >= 3 ? GraphOps.constantLongs(op.input(1))
                : op.attribute("starts").map(a -> a.intsValue()).orElse(null);
        long[] ends = op.inputs().size() >= 3 ? GraphOps.constantLongs(op.input(2))
                : op.attribute("ends").map(a -> a.intsValue()).orElse(null);
        long[] steps = op.inputs().size() >= 5 && op.input(4) != null ? GraphOps.constantLongs(op.input(4)) : null;
        if (starts == null || ends == null || starts.length != 1 || ends.length != 1
                || op.inputs().size() >= 5 && op.input(4) != null && (steps == null || steps.length != 1 || steps[0] != 1)) {
            return Found.fail("Slice '" + op.name() + "' is not a constant unit-step slice of one axis");
        }
        long end = ends[0] >= Integer.MAX_VALUE ? Integer.MAX_VALUE : ends[0];
        return Found.of(new int[] {(int) Math.max(Integer.MIN_VALUE + 1, starts[0]), (int) end, 0});
    }

    static Found<Selection> splitSelection(Node split, Value out) {
        int index = split.outputs().indexOf(out);
        long axis = split.intAttr("axis", 0);
        int rank = GraphOps.inferredRank(split.input(0));
        long[] sizes = split.input(1) != null ? GraphOps.constantLongs(split.input(1))
                : split.attribute("split").map(a -> a.intsValue()).orElse(null);
        if (split.input(1) != null && sizes == null) {
            return Found.fail("Split '" + split.name() + "' has computed split sizes");
        }
        boolean lastAxis = axis == -1 || (rank > 0 && axis == rank - 1);
        if (!lastAxis && (rank > 0 || sizes == null)) {
            return Found.fail("Split '" + split.name() + "' splits axis " + axis + (rank > 0 ? " of rank " + rank
                    + ", not the feature axis" : " into equal parts of a tensor of unknown rank; cannot confirm it is the feature axis"));
        }
        int parts = split.outputs().size();
        final long[] fixed = sizes;
        final boolean checkSum = !lastAxis; // unknown rank: only accept when the sizes add up to the feature width
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                long[] s = fixed;
                if (s == null) {
                    if (width % parts != 0) {
                        return null;
                    }
                    s = new long[parts];
                    Arrays.fill(s, width / parts);
                }
                long total = Arrays.stream(s).sum();
                if (s.length != parts || (checkSum || fixed != null) && total != width) {
                    return null;
                }
                long from = 0;
                for (int i = 0; i < index; i++) {
                    from += s[i];
                }
                return new int[] {(int) from, (int) (from + s[index])};
            }

            @Override
            public String describe() {
                return "Split '" + split.name() + "' output " + index;
            }
        });
    }

    static Found<Selection> sliceSelection(Node slice) {
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (slice.inputs().size() >= 3) {
            starts = GraphOps.constantLongs(slice.input(1));
            ends = GraphOps.constantLongs(slice.input(2));
            axes = slice.input(3) == null ? null : GraphOps.constantLongs(slice.input(3));
            if (slice.input(4) != null) {
                steps = GraphOps.constantLongs(slice.input(4));
                if (steps == null) {
                    return Found.fail("Slice '" + slice.name() + "' has computed steps");
                }
            }
            if (starts == null || ends == null || slice.input(3) != null && axes == null) {
                return Found.fail("Slice '" + slice.name() + "' has computed bounds");
            }
        } else {
            starts = slice.attribute("starts").map(a -> a.intsValue()).orElse(null);
            ends = slice.attribute("ends").map(a -> a.intsValue()).orElse(null);
            axes = slice.attribute("axes").map(a -> a.intsValue()).orElse(null);
            if (starts == null || ends == null) {
                return Found.fail("Slice '" + slice.name() + "' has no starts / ends");
            }
        }
        if (starts.length != 1 || ends.length != 1 || steps != null && (steps.length != 1 || steps[0] != 1)) {
            return Found.fail("Slice '" + slice.name() + "' is not a unit-step slice of one axis");
        }
        long axis = axes == null ? 0 : axes[0];
        int rank = GraphOps.inferredRank(slice.input(0));
        if (!(axis == -1 || rank > 0 && axis == rank - 1)) {
            return Found.fail("Slice '" + slice.name() + "' slices axis " + axis + (rank > 0 ? " of rank " + rank
                    : " of a tensor of unknown rank") + ", not known to be the feature axis");
        }
        long start = starts[0];
        long end = ends[0];
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                long s = start < 0 ? start + width : start;
                long e = end < 0 ? end + width : end;
                s = Math.max(0, Math.min(width, s));
                e = Math.max(0, Math.min(width, e));
                return e > s ? new int[] {(int) s, (int) e} : null;
            }

            @Override
            public String describe() {
                return "Slice '" + slice.name() + "' [" + start + ", " + end + ")";
            }
        });
    }
}
