package io.onnxslanc.calibrate.math;

import java.util.Arrays;

/**
 * W_o with the column blocks of query heads that share a kv head summed: W_o W_v_expanded = W_o_folded W_v.
 *
 * <p>Grouped-query attention usually expands W_v [kvHeads * headDim x d] by interleaving: query head h reads kv head
 * h / group (repeat_kv, Expand on a new axis after the kv-head axis); a model that repeats the kv heads as a whole
 * (Tile on the head axis) has query head h read kv head h mod kvHeads ({@code tiled}). Row c of the expanded W_v is row kvRow(c) of W_v, so (W_o W_v_exp)[i, j] = sum over kv rows r of
 * (sum of W_o[i, c] over c with kvRow(c) = r) * W_v[r, j]. Folding W_o costs a pass over W_o instead of
 * multiplying by a group-times larger matrix.
 */
final class HeadFoldedColumns implements BlockSource {

    private final BlockSource wo;
    private final int headDim;
    private final int group;
    private final int cols;
    private final int kvHeads;
    private final boolean tiled;
    private final ThreadLocal<double[]> scratch = ThreadLocal.withInitial(() -> new double[0]);

    HeadFoldedColumns(BlockSource wo, int nHeads, int nKvHeads) {
        this(wo, nHeads, nKvHeads, false);
    }

    HeadFoldedColumns(BlockSource wo, int nHeads, int nKvHeads, boolean tiled) {
        this.wo = wo;
        this.kvHeads = nKvHeads;
        this.tiled = tiled;
        this.headDim = wo.cols() / nHeads;
        this.group = nHeads / nKvHeads;
        this.cols = nKvHeads * headDim;
    }

    @Override
    public String name() {
        return wo.name();
    }

    @Override
    public int rows() {
        return wo.rows();
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public boolean columnMajorStorage() {
        return wo.columnMajorStorage();
    }

    @Override
    public void copyBlockColumnMajor(int r0, int r1, int c0, int c1, double[] dst) {
        int height = r1 - r0;
        int width = c1 - c0;
        Arrays.fill(dst, 0, height * width, 0.0);
        double[] part = scratch(height * width);
        for (int s0 = c0; s0 < c1; ) {
            int kv = s0 / headDim;
            int s1 = Math.min(c1, (kv + 1) * headDim);
            int length = (s1 - s0) * height; // whole columns are contiguous
            for (int u = 0; u < group; u++) {
                int source0 = queryHead(kv, u) * headDim + (s0 - kv * headDim);
                wo.copyBlockColumnMajor(r0, r1, source0, source0 + (s1 - s0), part);
                int to = (s0 - c0) * height;
                for (int k = 0; k < length; k++) {
                    dst[to + k] += part[k];
                }
            }
            s0 = s1;
        }
    }

    /** The u-th query head reading kv head {@code kv}. */
    private int queryHead(int kv, int u) {
        return tiled ? u * kvHeads + kv : kv * group + u;
    }

    private double[] scratch(int size) {
        return Scratch.doubles(scratch, size);
    }

    @Override
    public void copyBlock(int r0, int r1, int c0, int c1, double[] dst) {
        int height = r1 - r0;
        int width = c1 - c0;
        Arrays.fill(dst, 0, height * width, 0.0);
        double[] part = scratch(height * width);
        for (int s0 = c0; s0 < c1; ) {
            int kv = s0 / headDim;
            int s1 = Math.min(c1, (kv + 1) * headDim); // stay inside one kv head
            int segment = s1 - s0;
            for (int u = 0; u < group; u++) {
                int source0 = queryHead(kv, u) * headDim + (s0 - kv * headDim);
                wo.copyBlock(r0, r1, source0, source0 + segment, part);
                for (int r = 0; r < height; r++) {
                    int to = r * width + (s0 - c0);
                    int from = r * segment;
                    for (int k = 0; k < segment; k++) {
                        dst[to + k] += part[from + k];
                    }
                }
            }
            s0 = s1;
        }
    }
}
