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
            int[] r = s.apply(w.outFeatures());
            if (r == null) {
                return Found.fail(s.describe() + " does not fit the " + w.outFeatures() + " outputs of '" + w.name() + "'");
            }
            w = w.rows(r[0], r[1]);
        }
        return Found.of(new LinearLayer(lin.node(), lin.input(), w));
    }

    /** A Reshape whose target ends in the full feature width, checked once the projection's width is known. */
    static Found<Selection> featureKeepingReshape(Node reshape) {
        long[] shape = ShapeValues.tail(reshape.input(1));
        long last = shape == null || shape.length == 0 ? -1 : shape[shape.length - 1];
        if (last <= 0) {
            return Found.fail("Reshape '" + reshape.name() + "' between the packed projection and its Split/Slice"
                    + " has no constant last dimension");
        }
        return Found.of(new Selection() {
            @Override
            public int[] apply(int width) {
                return width == last ? new int[] {0, width} : null;
            }

            @Override
            public String describe() {
                return "Reshape '" + reshape.name() + "' to last dimension " + last;
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

            @Override
            public String describe() {
                return gather.opType() + " '" + gather.name() + "' group " + g + " of Reshape '" + reshape.name() + "' to "
                        + ShapeValues.text(target);
            }
        });
        return Found.of(reshape);
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
