package io.onnxslanc.calibrate;

import io.onnxslanc.match.Constants;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The first norm's optional static scale: the first norm's input is built from Gathers of constant embedding
 * tables (and constant factors), so the largest row norm that can reach it is known offline: the sum over the
 * gathered tables of their largest row norm, times the constant factors on the way.
 */
final class EmbeddingBound {
    private EmbeddingBound() {
    }

    /** An upper bound of the row norm of {@code v}, from the constants it is computed from. */
    static double bound(Value v, int depth) {
        Node p = v.producer();
        if (p == null || depth > 16) {
            throw new IllegalArgumentException("first norm: '" + v.name() + "' is not computed from embedding tables");
        }
        if (p.is("Gather") && p.intAttr("axis", 0) == 0 && Constants.tensor(p.input(0)) != null) {
            return maxRowNorm(Constants.tensor(p.input(0)));
        }
        if (p.is("Mul") || p.is("Add")) {
            Tensor k0 = Constants.tensor(p.input(0));
            Tensor k1 = Constants.tensor(p.input(1));
            if (p.is("Mul") && (k0 == null) != (k1 == null)) {
                Tensor k = k0 != null ? k0 : k1;
                if (k.elementCount() != 1) {
                    throw new IllegalArgumentException("first norm: Mul '" + p.name() + "' by a non-scalar constant");
                }
                return Math.abs(k.toDoubles()[0]) * bound(p.input(k0 != null ? 1 : 0), depth + 1);
            }
            if (p.is("Add") && k0 == null && k1 == null) {
                return bound(p.input(0), depth + 1) + bound(p.input(1), depth + 1);
            }
        }
        throw new IllegalArgumentException("first norm: '" + v.name() + "' comes from " + p.opType() + " '" + p.name()
                + "', not from Gathers of embedding tables");
    }

    private static double maxRowNorm(Tensor table) {
        long[] dims = table.dims();
        if (dims.length != 2 || table.dataType() != io.onnxslanc.ir.DataType.FLOAT) {
            throw new IllegalArgumentException("embedding table is " + table.dataType() + " of rank " + dims.length
                    + ", not a FLOAT matrix");
        }
        ByteBuffer b = table.read().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int rows = (int) dims[0];
        int cols = (int) dims[1];
        double max = 0;
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int j = 0; j < cols; j++) {
                double x = b.getFloat((r * cols + j) * 4);
                ss += x * x;
            }
            max = Math.max(max, Math.sqrt(ss));
        }
        return max;
    }
}
