package io.onnxslanc.calibrate;

import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.nio.ByteBuffer;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * The first norm's static scale: its input is built from constant embedding tables (token, position, token-type
 * embeddings, Gathered or added as an initializer slice) and constant factors (Gemma's sqrt(d)), so the largest row
 * norm that can reach it is known offline: by the triangle inequality at most the sum over the tables of their
 * largest row norm, times the constant factors on the way. Ops that only move, select or broadcast rows
 * (Reshape, Slice, Expand, Dropout, ...) leave the bound as it is.
 */
final class EmbeddingBound {
    /** Ops whose output rows are rows of their first input (or broadcasts of them). */
    private static final Set<String> ROW_PRESERVING = Set.of("Cast", "Identity", "Reshape", "Squeeze", "Unsqueeze",
            "Flatten", "Expand", "Slice", "Dropout", "Tile");

    private EmbeddingBound() {
    }

    /** An upper bound of the row norm of {@code v}, from the constants it is computed from. */
    static double bound(Value v, int depth) {
        Tensor table = Constants.tensor(v);
        if (table != null) {
            return maxRowNorm(table, v.name()); // an added position-embedding initializer, a sliced table
        }
        Node p = v.producer();
        if (p == null || depth > 24) {
            throw new IllegalArgumentException("first norm: '" + v.name() + "' is not computed from embedding tables");
        }
        boolean standard = p.domain().isEmpty() || p.domain().equals("ai.onnx");
        if (standard && p.is("Gather") && p.intAttr("axis", 0) == 0) {
            return bound(p.input(0), depth + 1); // the table, possibly behind a Cast or a Slice
        }
        if (standard && ROW_PRESERVING.contains(p.opType())) {
            return bound(p.input(0), depth + 1);
        }
        if (standard && (p.is("Mul") || p.is("Div"))) {
            OptionalDouble k0 = Constants.scalar(p.input(0));
            OptionalDouble k1 = Constants.scalar(p.input(1));
            if (p.is("Mul") && k0.isPresent() != k1.isPresent()) {
                double k = k0.isPresent() ? k0.getAsDouble() : k1.getAsDouble();
                return Math.abs(k) * bound(p.input(k0.isPresent() ? 1 : 0), depth + 1);
            }
            if (p.is("Div") && k1.isPresent() && k1.getAsDouble() != 0 && k0.isEmpty()) {
                return bound(p.input(0), depth + 1) / Math.abs(k1.getAsDouble());
            }
        }
        if (standard && p.is("Add")) {
            return bound(p.input(0), depth + 1) + bound(p.input(1), depth + 1);
        }
        if (standard && p.is("Concat") || standard && p.is("Where")) {
            double max = 0;
            for (int i = p.is("Where") ? 1 : 0; i < p.inputs().size(); i++) {
                max = Math.max(max, bound(p.input(i), depth + 1));
            }
            return max;
        }
        throw new IllegalArgumentException("first norm: '" + v.name() + "' comes from " + p.opType() + " '" + p.name()
                + "', not from Gathers of embedding tables");
    }

    /** The largest norm of a row (along the last axis) of a float table, read in chunks of rows. */
    private static double maxRowNorm(Tensor table, String name) {
        MatrixView.ElementType type = WeightRef.elementType(table.dataType());
        long[] dims = table.dims();
        if (type == null || dims.length == 0) {
            throw new IllegalArgumentException("embedding table '" + name + "' is " + table.dataType() + " of rank "
                    + dims.length + ", not a float table");
        }
        long cols = dims[dims.length - 1];
        long rows = cols == 0 ? 0 : table.elementCount() / cols;
        if (rows == 0 || rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("embedding table '" + name + "' cannot be read as rows");
        }
        ByteBuffer data = table.read();
        try {
            MatrixView m = MatrixView.of(name, data, type, (int) rows, (int) cols);
            int chunk = (int) Math.max(1, Math.min(rows, (1 << 20) / cols));
            double[] buf = new double[(int) (chunk * cols)];
            double max = 0;
            for (int r0 = 0; r0 < rows; r0 += chunk) {
                int r1 = (int) Math.min(rows, r0 + chunk);
                m.copyRows(r0, r1, buf);
                for (int r = 0; r < r1 - r0; r++) {
                    double ss = 0;
                    for (int j = 0; j < cols; j++) {
                        double x = buf[(int) (r * cols + j)];
                        ss += x * x;
                    }
                    max = Math.max(max, Math.sqrt(ss));
                }
            }
            return max;
        } finally {
            table.release(data);
        }
    }
}
