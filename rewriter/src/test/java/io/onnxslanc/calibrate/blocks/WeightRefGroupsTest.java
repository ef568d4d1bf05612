package io.onnxslanc.calibrate.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.ir.ArrayTensor;
import org.junit.jupiter.api.Test;

/**
 * Row selections repeated per group (V of a projection packed per head, GPT-NeoX / BLOOM): the loaded view must hold
 * exactly the rows a hand-written index list names, in both stored layouts, and narrowing must keep that order. A
 * constant factor on the layer's output (Granite's residual_multiplier) multiplies every loaded value and survives
 * every narrowing.
 */
class WeightRefGroupsTest {
    private static final int HEADS = 3;
    private static final int HEAD_DIM = 2;
    private static final int OUT = HEADS * 3 * HEAD_DIM; // [q_h, k_h, v_h] per head
    private static final int IN = 5;

    /** W[r][c] = 100 r + c, so a value names its math row. */
    private static double w(int r, int c) {
        return 100 * r + c;
    }

    private static WeightRef weight(boolean storedIsMath) {
        float[] v = new float[OUT * IN];
        for (int r = 0; r < OUT; r++) {
            for (int c = 0; c < IN; c++) {
                v[storedIsMath ? r * IN + c : c * OUT + r] = (float) w(r, c);
            }
        }
        long[] dims = storedIsMath ? new long[] {OUT, IN} : new long[] {IN, OUT};
        return WeightRef.whole("qkv", ArrayTensor.ofFloats(dims, v), (int) dims[0], (int) dims[1], storedIsMath);
    }

    /** The V rows written out by hand: head h keeps rows h * 6 + 4 and h * 6 + 5. */
    private static final int[] V_ROWS = {4, 5, 10, 11, 16, 17};

    private static void assertRows(int[] rows, WeightRef ref) {
        assertRows(rows, ref, 1.0);
    }

    private static void assertRows(int[] rows, WeightRef ref, double factor) {
        assertEquals(rows.length, ref.outFeatures());
        try (WeightRef.Loaded l = ref.load()) {
            MatrixView m = l.view();
            assertEquals(rows.length, m.rows());
            assertEquals(IN, m.cols());
            for (int k = 0; k < rows.length; k++) {
                for (int c = 0; c < IN; c++) {
                    assertEquals((float) (w(rows[k], c) * factor), m.get(k, c), "selected row " + k + ", column " + c);
                }
            }
        }
    }

    @Test
    void theValueRowsOfEveryHeadAreLoadedInHeadOrderInBothLayouts() {
        for (boolean storedIsMath : new boolean[] {true, false}) {
            WeightRef v = weight(storedIsMath).perGroup(3 * HEAD_DIM, 2 * HEAD_DIM, 3 * HEAD_DIM);
            assertEquals(HEADS, v.groups());
            assertEquals(3 * HEAD_DIM, v.groupStride());
            assertEquals("[rows 4..6 +6 x3]", v.describeRows());
            assertRows(V_ROWS, v);
        }
    }

    @Test
    void narrowingKeepsTheSelectionOrder() {
        WeightRef v = weight(false).perGroup(3 * HEAD_DIM, 2 * HEAD_DIM, 3 * HEAD_DIM);
        assertRows(new int[] {10, 11}, v.rows(2, 4)); // one whole group: contiguous again
        assertEquals(1, v.rows(2, 4).groups());
        assertRows(new int[] {11}, v.rows(3, 4)); // inside one group
        assertRows(new int[] {10, 11, 16, 17}, v.rows(2, 6)); // a run of whole groups
        assertThrows(IllegalArgumentException.class, () -> v.rows(1, 3)); // across a group boundary
    }

    @Test
    void wholeGroupsOrOneGroupAreAPlainRange() {
        WeightRef whole = weight(true);
        assertEquals(1, whole.perGroup(OUT, 4, 6).groups());
        assertRows(new int[] {4, 5}, whole.perGroup(OUT, 4, 6));
        WeightRef all = whole.perGroup(6, 0, 6);
        assertEquals(1, all.groups());
        assertEquals(OUT, all.outFeatures());
        assertNull(whole.perGroup(7, 0, 2), "18 rows are not whole groups of 7");
        assertNull(whole.perGroup(6, 4, 6).perGroup(2, 0, 1), "a grouped selection is not regrouped");
    }

    @Test
    void aFactorMultipliesEveryValueAndSurvivesNarrowing() {
        for (boolean storedIsMath : new boolean[] {true, false}) {
            WeightRef scaled = weight(storedIsMath).times(0.22);
            assertEquals(" x 0.22", scaled.describeRows());
            int[] all = new int[OUT];
            for (int r = 0; r < OUT; r++) {
                all[r] = r;
            }
            assertRows(all, scaled, 0.22);
            WeightRef v = scaled.perGroup(3 * HEAD_DIM, 2 * HEAD_DIM, 3 * HEAD_DIM);
            assertEquals(0.22, v.factor());
            assertRows(V_ROWS, v, 0.22);
            assertRows(new int[] {11}, v.rows(3, 4), 0.22);
        }
    }

    @Test
    void perRowScalesMultiplyEachRowInBothLayoutsAndStopFurtherCuts() {
        for (boolean storedIsMath : new boolean[] {true, false}) {
            WeightRef v = weight(storedIsMath).perGroup(3 * HEAD_DIM, 2 * HEAD_DIM, 3 * HEAD_DIM);
            double[] lambda = {0.5, 2, -1, 3, 0.25, 4};
            WeightRef scaled = v.timesRows(lambda).times(2);
            try (WeightRef.Loaded l = scaled.load()) {
                for (int k = 0; k < V_ROWS.length; k++) {
                    for (int c = 0; c < IN; c++) {
                        assertEquals((float) ((float) (w(V_ROWS[k], c) * 2) * lambda[k]), l.view().get(k, c),
                                "row " + k + ", column " + c);
                    }
                }
            }
            assertThrows(IllegalArgumentException.class, () -> scaled.rows(0, 2));
            assertNull(scaled.perGroup(2, 0, 1));
        }
    }
}
