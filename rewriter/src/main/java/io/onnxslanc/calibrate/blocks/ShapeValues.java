package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.Arrays;

/**
 * The entries of a Reshape target shape that are known statically. Exporters often build the target at run time
 * as Concat(Unsqueeze(Gather(Shape(x))), ..., [num_heads], [head_dim]); the constant pieces are what we need.
 */
final class ShapeValues {
    /** Marks an entry computed at run time. */
    static final long UNKNOWN = io.onnxslanc.canon.StaticShapes.UNKNOWN_DIM;

    private ShapeValues() {
    }

    /** The target shape with unknown entries as {@link #UNKNOWN}, or null when not even its length is known. */
    static long[] of(Value shape) {
        long[] c = GraphOps.constantLongs(shape);
        if (c != null) {
            return c;
        }
        Node p = shape.producer();
        if (p == null) {
            return null;
        }
        if (p.is("Cast") || p.is("Identity")) {
            return of(p.input(0));
        }
        if (!p.is("Concat")) {
            return null;
        }
        long[] out = new long[0];
        for (Value piece : p.inputs()) {
            long[] part = piece == null ? null : GraphOps.constantLongs(piece);
            if (part == null) {
                int len = pieceLength(piece);
                if (len < 0) {
                    return null;
                }
                part = new long[len];
                Arrays.fill(part, UNKNOWN);
            }
            long[] joined = Arrays.copyOf(out, out.length + part.length);
            System.arraycopy(part, 0, joined, out.length, part.length);
            out = joined;
        }
        return out;
    }

    /**
     * The trailing entries of the target shape that are known in position, even when an earlier piece has an
     * unknown length; all entries when {@link #of} knows them; null when not even the last piece is understood.
     */
    static long[] tail(Value shape) {
        long[] full = of(shape);
        if (full != null) {
            return full;
        }
        Node p = shape.producer();
        while (p != null && (p.is("Cast") || p.is("Identity"))) {
            p = p.input(0).producer();
        }
        if (p == null || !p.is("Concat")) {
            return null;
        }
        long[] out = new long[0];
        for (int i = p.inputs().size() - 1; i >= 0; i--) {
            Value piece = p.input(i);
            long[] part = piece == null ? null : GraphOps.constantLongs(piece);
            if (part == null) {
                int len = pieceLength(piece);
                if (len < 0) {
                    break;
                }
                part = new long[len];
                Arrays.fill(part, UNKNOWN);
            }
            long[] joined = Arrays.copyOf(part, part.length + out.length);
            System.arraycopy(out, 0, joined, part.length, out.length);
            out = joined;
        }
        return out.length == 0 ? null : out;
    }

    /** Length of a computed 1-D piece: from its type, or 1 for Unsqueeze of a scalar (the usual Gather of a Shape). */
    private static int pieceLength(Value piece) {
        if (piece == null) {
            return -1;
        }
        if (piece.type() != null && piece.type().shape() != null && piece.type().shape().size() == 1
                && piece.type().shape().get(0).value() != null) {
            return piece.type().shape().get(0).value().intValue();
        }
        Node p = piece.producer();
        if (p != null && (p.is("Cast") || p.is("Identity"))) {
            return pieceLength(p.input(0));
        }
        if (p != null && p.is("Slice") && p.input(0) != null && p.input(0).producer() != null
                && p.input(0).producer().is("Shape") && p.inputs().size() >= 3) {
            long[] starts = GraphOps.constantLongs(p.input(1));
            long[] ends = GraphOps.constantLongs(p.input(2));
            if (starts != null && ends != null && starts.length == 1 && ends.length == 1 && starts[0] >= 0
                    && ends[0] >= starts[0] && ends[0] < 64 && p.input(3) == null && p.input(4) == null) {
                return (int) (ends[0] - starts[0]); // a prefix of a shape; ranks stay far below 64
            }
        }
        if (p != null && p.is("Unsqueeze")) {
            Value in = p.input(0);
            boolean scalar = in.type() != null && in.type().shape() != null && in.type().shape().isEmpty();
            boolean fromGather = in.producer() != null && in.producer().is("Gather")
                    && GraphOps.constant(in.producer().input(1)) != null
                    && GraphOps.constant(in.producer().input(1)).dims().length == 0;
            if (scalar || fromGather) {
                return 1;
            }
        }
        return -1;
    }

    /** A target shape as text, unknown entries as "?", for the reasons of the walks. */
    static String text(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(shape[i] == ShapeValues.UNKNOWN ? "?" : Long.toString(shape[i]));
        }
        return sb.append(']').toString();
    }
}
