package io.onnxslanc.calibrate;

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
            if (n.intAttr("transA", 0) != 0) {
                return Found.fail("Gemm '" + n.name() + "' has transA=1");
            }
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
        return Found.of(new LinearLayer(n, n.input(0), ref));
    }

    /** A 2-D float constant reached from a MatMul operand through Cast, Identity, Reshape and Transpose. */
    record StoredWeight(String name, Tensor tensor, int rows, int cols, boolean transposed) {

        static Found<StoredWeight> resolve(Value operand) {
            boolean transposed = false;
            long[] dims = null; // the row-major layout of the data: set by the Reshape closest to the constant's consumers
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
                    return Found.of(new StoredWeight(cur.name(), t, (int) shape[0], (int) shape[1], transposed));
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
                } else if (p.is("Reshape")) {
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
