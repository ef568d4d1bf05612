package io.onnxslanc.calibrate;

import io.onnxslanc.calibrate.blocks.Found;
import io.onnxslanc.calibrate.blocks.QuantizedLinear;
import io.onnxslanc.calibrate.blocks.QuantizedWeight;
import io.onnxslanc.calibrate.blocks.WeightRef;
import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.ir.Node;
import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import io.onnxslanc.match.NormKind;
import io.onnxslanc.match.NormSite;
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

    /**
     * An upper bound of the row norm of what the norm normalises. A Skip* norm normalises input + skip (+ bias),
     * so the bound is the sum of the three bounds (triangle inequality): bounding the input operand alone would
     * give a fused post-norm model a first-norm scale its unfused export (Add in front of the norm) does not get.
     */
    static double ofNormInput(NormSite site) {
        double sum = bound(site.input(), 0);
        if (site.kind().hasSkipInput()) {
            sum += bound(site.skip(), 0);
            Value bias = site.root().input(site.kind() == NormKind.SKIP_LAYER_NORMALIZATION ? 4 : 3);
            if (bias != null && !bias.name().isEmpty()) {
                sum += bound(bias, 0);
            }
        }
        return sum;
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
        if (standard && p.is("DequantizeLinear")) {
            return dequantizedRowsBound(p, depth);
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

    /**
     * DequantizeLinear of rows Gathered from a quantized table (quantize_dynamic quantizes embedding Gathers so):
     * with a single scale and zero point, selecting rows and dequantizing commute, so the rows' bound is the largest
     * row norm of the dequantized table.
     */
    private static double dequantizedRowsBound(Node dq, int depth) {
        Value rows = dq.input(0);
        Tensor table = Constants.tensor(rows);
        for (int d = depth; table == null; d++) {
            Node q = rows.producer();
            boolean selects = q != null && (q.domain().isEmpty() || q.domain().equals("ai.onnx"))
                    && (q.is("Gather") && q.intAttr("axis", 0) == 0 || ROW_PRESERVING.contains(q.opType()) && !q.is("Cast"));
            if (!selects || d > 24) {
                throw new IllegalArgumentException("first norm: DequantizeLinear '" + dq.name()
                        + "' does not read rows of a constant quantized table");
            }
            rows = q.input(0);
            table = Constants.tensor(rows);
        }
        Tensor scale = Constants.tensor(dq.input(1));
        if (scale == null || scale.elementCount() != 1) {
            throw new IllegalArgumentException("first norm: DequantizeLinear '" + dq.name()
                    + "' has no single constant scale (per-axis scales of a Gathered table are not read)");
        }
        Found<QuantizedWeight> w = QuantizedLinear.dequantizeLinear(dq, table, rows.name());
        if (!w.ok()) {
            throw new IllegalArgumentException("first norm: " + w.reason());
        }
        try (QuantizedWeight.Mapped m = w.value().map(rows.name())) {
            return maxRowNorm(m.stored());
        }
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
        if (type == MatrixView.ElementType.FLOAT32 && table instanceof ExternalTensor external) {
            double max = streamedMaxRowNorm(external, (int) cols);
            if (Double.isFinite(max)) {
                return max; // else the checked pass below names the first NaN or infinity
            }
        }
        ByteBuffer data = table.read();
        try {
            return maxRowNorm(MatrixView.of(name, data, type, (int) rows, (int) cols));
        } finally {
            table.release(data);
        }
    }

    /**
     * The largest row norm of a float32 table in an external data file, read by positional reads in chunks of
     * whole rows: a mapping of the table (262 MB for a 32000 x 2048 vocabulary) would fault its pages in one by
     * one, about three times slower on a cached file. Non-finite when the table holds a NaN or infinity.
     */
    private static double streamedMaxRowNorm(ExternalTensor table, int cols) {
        int rowBytes = cols * Float.BYTES;
        int rowsPerChunk = Math.max(1, (4 << 20) / rowBytes);
        ByteBuffer scratch = ByteBuffer.allocateDirect(rowsPerChunk * rowBytes);
        float[] row = new float[cols];
        double[] max = {0};
        try {
            table.readChunks(scratch, chunk -> {
                java.nio.FloatBuffer floats = chunk.order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                while (floats.remaining() >= cols) {
                    floats.get(row);
                    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                    int j = 0;
                    for (; j + 4 <= cols; j += 4) {
                        s0 += (double) row[j] * row[j];
                        s1 += (double) row[j + 1] * row[j + 1];
                        s2 += (double) row[j + 2] * row[j + 2];
                        s3 += (double) row[j + 3] * row[j + 3];
                    }
                    for (; j < cols; j++) {
                        s0 += (double) row[j] * row[j];
                    }
                    double norm = Math.sqrt(s0 + s1 + s2 + s3);
                    max[0] = Double.isNaN(norm) || Double.isNaN(max[0]) ? Double.NaN : Math.max(max[0], norm);
                }
            });
        } catch (java.io.IOException e) {
            return Double.NaN; // the mapped pass reports it
        }
        return max[0];
    }

    private static double maxRowNorm(MatrixView m) {
        int rows = m.rows();
        int cols = m.cols();
        int chunk = Math.max(1, Math.min(rows, (1 << 20) / cols));
        double[] buf = new double[chunk * cols];
        double max = 0;
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            int r1 = Math.min(rows, r0 + chunk);
            m.copyRows(r0, r1, buf);
            for (int r = 0; r < r1 - r0; r++) {
                double ss = 0;
                for (int j = 0; j < cols; j++) {
                    double x = buf[r * cols + j];
                    ss += x * x;
                }
                max = Math.max(max, Math.sqrt(ss));
            }
        }
        return max;
    }
}
