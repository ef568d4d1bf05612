package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;

/**
 * A MatMul or Gemm with a constant 2-D weight: y = x B (+ bias), i.e. y = W x with W = B^T.
 *
 * @param node   the MatMul / Gemm
 * @param input  the activation operand
 * @param weight W, with the layout it is stored in
 */
record LinearLayer(Node node, Value input, WeightRef weight) {

    /** Recognises {@code n} as a linear layer, or says why not. */
    static Found<LinearLayer> of(Node n) {
        if (n == null) {
            return Found.fail("no producer");
        }
        Found<LinearLayer> quantized = QuantizedLinear.of(n); // MatMulNBits, dynamic MatMulInteger
        if (quantized != null) {
            return quantized;
        }
        boolean matMul = n.is("MatMul");
        boolean gemm = n.is("Gemm");
        if (!matMul && !gemm) {
            return Found.fail(n.opType() + " '" + n.name() + "' is not a MatMul or Gemm");
        }
        if (n.input(0) == null || GraphOps.isConstant(n.input(0))) {
            return Found.fail(n.opType() + " '" + n.name() + "' has a constant left operand (y = W x form is not supported)");
        }
        boolean transposed = false;
        if (gemm) {
            // transA only says the activation arrives transposed ([features, rows]); the weight is the same
            if (n.floatAttr("alpha", 1f) != 1f) {
                return Found.fail("Gemm '" + n.name() + "' has alpha=" + n.floatAttr("alpha", 1f) + " (scaled weight)");
            }
            transposed = n.intAttr("transB", 0) != 0;
        }
        Found<StoredWeight> w = StoredWeight.resolve(n.input(1));
        if (!w.ok()) {
            return Found.fail(n.opType() + " '" + n.name() + "': " + w.reason());
        }
        StoredWeight s = w.value();
        // MatMul's B is W^T: stored as is, the stored matrix is W^T; each transposition on the way flips that
        boolean storedIsMath = transposed ^ s.transposed();
        WeightRef ref = WeightRef.whole(s.name(), s.tensor(), s.rows(), s.cols(), storedIsMath);
        if (s.sliceAxis() >= 0) {
            int outAxis = storedIsMath ? 0 : 1; // the stored axis that holds W's output rows
            if (s.sliceAxis() != outAxis) {
                return Found.fail(n.opType() + " '" + n.name() + "': weight '" + s.name() + "' is sliced along its input features");
            }
            ref = ref.rows(s.sliceFrom(), s.sliceTo());
        }
        return Found.of(new LinearLayer(n, n.input(0), ref));
    }

    /**
     * A 2-D float constant reached from a MatMul operand through Cast, Identity, Reshape and Transpose, and at most
     * one Slice or Split of it (nn.MultiheadAttention's cross-attention splits its packed in_proj_weight before the
     * MatMul): rows or columns [sliceFrom, sliceTo) of the stored matrix along {@code sliceAxis} (-1: none).
     */
    record StoredWeight(String name, Tensor tensor, int rows, int cols, boolean transposed, int sliceAxis, int sliceFrom,
                        int sliceTo) {

        StoredWeight(String name, Tensor tensor, int rows, int cols, boolean transposed) {
            this(name, tensor, rows, cols, transposed, -1, 0, 0);
        }

        /** A selection along one axis of the value it was found on, with the transposition parity at that point. */
        private record Cut(Node node, int axis, long start, long end, boolean transposedBefore) {
        }

        static Found<StoredWeight> resolve(Value operand) {
            boolean transposed = false;
            long[] dims = null; // the row-major layout of the data: set by the Reshape closest to the constant's consumers
            Cut cut = null;
            Value cur = operand;
            for (int guard = 0; guard < 16; guard++) {
                Tensor t = GraphOps.constant(cur);
                if (t != null) {
                    if (WeightRef.elementType(t.dataType()) == null) {
                        return Found.fail("weight '" + cur.name() + "' is " + t.dataType() + " (only FLOAT, FLOAT16 and "
                                + "BFLOAT16 weights are read)");
                    }
                    long[] shape = dims != null ? dims : t.dims();
                    if (shape.length != 2) {
                        return Found.fail("weight '" + cur.name() + "' has rank " + shape.length + ", not 2");
                    }
                    if (shape[0] * shape[1] != t.elementCount() || shape[0] > Integer.MAX_VALUE || shape[1] > Integer.MAX_VALUE) {
                        return Found.fail("weight '" + cur.name() + "' cannot be viewed as " + shape[0] + " x " + shape[1]);
                    }
                    if (cut == null) {
                        return Found.of(new StoredWeight(cur.name(), t, (int) shape[0], (int) shape[1], transposed));
                    }
                    if (dims != null) {
                        return Found.fail("weight '" + cur.name() + "' is both reshaped and sliced");
                    }
                    // transpositions between the constant and the cut flip the axis it selects
                    int axis = cut.transposedBefore() ^ transposed ? 1 - cut.axis() : cut.axis();
                    long n = shape[axis];
                    long from = Math.max(0, Math.min(n, cut.start() < 0 ? cut.start() + n : cut.start()));
                    long to = Math.max(0, Math.min(n, cut.end() < 0 ? cut.end() + n : cut.end()));
                    if (to <= from) {
                        return Found.fail(cut.node().opType() + " '" + cut.node().name() + "' selects nothing of '" + cur.name() + "'");
                    }
                    return Found.of(new StoredWeight(cur.name(), t, (int) shape[0], (int) shape[1], transposed, axis,
                            (int) from, (int) to));
                }
                Node p = cur.producer();
                if (p == null) {
                    return Found.fail("operand '" + cur.name() + "' is not a constant weight");
                }
                if (p.is("DequantizeLinear")) { // a quantized weight, read dequantized (QuantizedLinear)
                    Found<QuantizedWeight> q = QuantizedLinear.dequantizeLinear(p);
                    if (!q.ok() || dims != null && !java.util.Arrays.equals(dims, q.value().dims())) {
                        return Found.fail(q.ok() ? "Reshape after DequantizeLinear '" + p.name() + "' is not read" : q.reason());
                    }
                    long[] qd = q.value().dims();
                    return Found.of(new StoredWeight(p.input(0).name(), q.value(), (int) qd[0], (int) qd[1], transposed));
                }
                if (p.is("Identity") || p.is("Cast")) {
                    cur = p.input(0);
                } else if (p.is("Transpose")) {
                    if (dims != null) {
                        return Found.fail("weight behind Reshape(Transpose(...)) is not a plain view");
                    }
                    long[] perm = p.attribute("perm").map(a -> a.intsValue()).orElse(new long[] {1, 0});
                    if (perm.length != 2 || perm[0] != 1 || perm[1] != 0) {
                        return Found.fail("weight Transpose '" + p.name() + "' has perm " + java.util.Arrays.toString(perm));
                    }
                    transposed = !transposed;
                    cur = p.input(0);
                } else if ((p.is("Slice") || p.is("Split")) && cut == null && dims == null) {
                    Found<Cut> c = cut(p, cur, transposed);
                    if (!c.ok()) {
                        return c.cast();
                    }
                    cut = c.value();
                    cur = p.input(0);
                } else if (p.is("Reshape")) {
                    if (cut != null) {
                        return Found.fail("weight behind Reshape and Slice is not a plain view");
                    }
                    if (dims == null) {
                        Tensor src = GraphOps.constant(GraphOps.through(p.input(0), java.util.Set.of("Reshape", "Identity", "Cast")));
                        long[] target = GraphOps.constantLongs(p.input(1));
                        if (target == null || src == null) {
                            return Found.fail("weight Reshape '" + p.name() + "' has no constant target shape");
                        }
                        dims = resolveShape(target, src.elementCount());
                        if (dims == null) {
                            return Found.fail("weight Reshape '" + p.name() + "' has shape " + java.util.Arrays.toString(target));
                        }
                    }
                    cur = p.input(0);
                } else {
                    return Found.fail("operand " + GraphOps.describe(cur) + " is not a constant weight");
                }
            }
            return Found.fail("weight chain too long");
        }

        /** The range a Slice (unit step, one axis of a matrix) or a Split output selects, with constant bounds. */
        private static Found<Cut> cut(Node p, Value out, boolean transposedBefore) {
            long axis;
            long start;
            long end;
            if (p.is("Slice")) {
                long[] starts = p.inputs().size() >= 3 ? GraphOps.constantLongs(p.input(1)) : null;
                long[] ends = p.inputs().size() >= 3 ? GraphOps.constantLongs(p.input(2)) : null;
                long[] axes = p.input(3) == null ? new long[] {0} : GraphOps.constantLongs(p.input(3));
                long[] steps = p.input(4) == null ? new long[] {1} : GraphOps.constantLongs(p.input(4));
                if (starts == null || ends == null || axes == null || steps == null || starts.length != 1
                        || ends.length != 1 || axes.length != 1 || steps[0] != 1) {
                    return Found.fail("weight Slice '" + p.name() + "' is not a unit-step slice of one axis with known bounds");
                }
                axis = axes[0];
                start = starts[0];
                end = ends[0];
            } else {
                int index = p.outputs().indexOf(out);
                long[] sizes = p.input(1) != null ? GraphOps.constantLongs(p.input(1))
                        : p.attribute("split").map(a -> a.intsValue()).orElse(null);
                if (sizes == null || index < 0 || index >= sizes.length) {
                    return Found.fail("weight Split '" + p.name() + "' has no known split sizes");
                }
                axis = p.intAttr("axis", 0);
                start = 0;
                for (int i = 0; i < index; i++) {
                    start += sizes[i];
                }
                end = start + sizes[index];
            }
            if (axis < -2 || axis > 1) {
                return Found.fail("weight " + p.opType() + " '" + p.name() + "' cuts axis " + axis + " of a matrix");
            }
            return Found.of(new Cut(p, (int) (axis < 0 ? axis + 2 : axis), start, end, transposedBefore));
        }

        /** Reshape target with -1 resolved (0 would copy an input dim, which a weight Reshape never needs). */
        private static long[] resolveShape(long[] target, long count) {
            long[] out = target.clone();
            int unknown = -1;
            long known = 1;
            for (int i = 0; i < out.length; i++) {
                if (out[i] == -1 && unknown < 0) {
                    unknown = i;
                } else if (out[i] <= 0) {
                    return null;
                } else {
                    known *= out[i];
                }
            }
            if (unknown >= 0) {
                if (known == 0 || count % known != 0) {
                    return null;
                }
                out[unknown] = count / known;
            }
            return out;
        }
    }
}
