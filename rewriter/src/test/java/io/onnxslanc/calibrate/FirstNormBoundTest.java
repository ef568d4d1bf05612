package io.onnxslanc.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.onnxslanc.calibrate.blocks.BlockFinder;
import io.onnxslanc.calibrate.blocks.BlockKind;
import io.onnxslanc.calibrate.math.SlancScales;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The first norm's static scale from the embedding tables (issue 11): a Skip* norm normalises input + skip + bias,
 * so all three bound it; rows Gathered from a quantized table are bounded by the dequantized table. References
 * are computed here from the tables' values.
 */
class FirstNormBoundTest {
    private static final int D = 8;
    private static final SlancOptions UNROUNDED = SlancOptions.defaults().withPowerOfTwo(false);

    /** The first (only) norm's scale as the calibrator sets it with the default first-norm rule. */
    private static double firstNormScale(TestGraph t) {
        List<NormSite> sites = NormMatcher.findAll(t.g);
        assertEquals(1, sites.size(), "one norm");
        List<NormCalibration> c = SlancCalibrator.compute(BlockFinder.findAll(t.g, sites), UNROUNDED);
        assertEquals(BlockKind.FIRST, c.get(0).block().kind(), "a first norm");
        return c.get(0).scale();
    }

    private static double norm(float[] v) {
        double ss = 0;
        for (float x : v) {
            ss += (double) x * x;
        }
        return Math.sqrt(ss);
    }

    /** SkipLayerNormalization(input, skip, gamma, beta, bias) in front of nothing else: the graph's first norm. */
    private static void skipLayerNorm(TestGraph t, Value input, Value skip, Value bias) {
        t.node("com.microsoft", "SkipLayerNormalization", Arrays.asList(input, skip, t.vector("gamma", D, 1, 0.1),
                t.vector("beta", D, 0, 0.1), bias), 1, Attribute.ofFloat("epsilon", 1e-5f));
    }

    @Test
    void aSkipNormFedByTwoTablesAndABiasIsBoundedByTheirSum() {
        TestGraph t = new TestGraph(3);
        Value ids = t.input("ids", DataType.INT64, 2, 5);
        Value tok = t.op("Gather", t.weight("tok", 20, D, 1.0), ids);
        Value pos = t.op("Gather", t.weight("pos", 5, D, 0.5), ids);
        skipLayerNorm(t, tok, pos, t.vector("bias", D, 0.3, 0.1));
        double inputOnly = SlancReference.maxRowNorm(t.data("tok"), D);
        double want = inputOnly + SlancReference.maxRowNorm(t.data("pos"), D) + norm(t.data("bias"));
        NormSite site = NormMatcher.findAll(t.g).get(0);
        assertEquals(want, EmbeddingBound.ofNormInput(site), 1e-12 * want, "max_row(tok) + max_row(pos) + ||bias||");
        // a Skip* norm's scale is always a power of two; these tables make the input-only bound round differently
        assertNotEquals(SlancScales.roundToPowerOfTwo(inputOnly), SlancScales.roundToPowerOfTwo(want));
        assertEquals(SlancScales.roundToPowerOfTwo(want), firstNormScale(t));
    }

    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path dir;

    @Test
    void aTableInAnExternalDataFileIsReadInChunksOfRowsWithTheSameBoundAndErrors() throws java.io.IOException {
        // 3000 x 640 floats: 7.7 MB, several 4 MiB chunks of whole rows, the last one short
        int rows = 3000;
        int cols = 640;
        java.util.Random random = new java.util.Random(12);
        float[] table = new float[rows * cols];
        for (int i = 0; i < table.length; i++) {
            table[i] = (float) (random.nextGaussian() * (i / cols == 2777 ? 3 : 1)); // row 2777, in the last chunk, is largest
        }
        java.nio.file.Path file = dir.resolve("tok.data");
        ByteBuffer bytes = ByteBuffer.allocate(16 + 4 * table.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bytes.position(16);
        bytes.asFloatBuffer().put(table);
        java.nio.file.Files.write(file, bytes.array());
        TestGraph t = new TestGraph(5);
        Value tok = t.g.addInitializer("tok", new io.onnxslanc.io.ExternalTensor(file, 16, 4L * table.length, DataType.FLOAT,
                new long[] {rows, cols}));
        assertEquals(SlancReference.maxRowNorm(table, cols), EmbeddingBound.bound(tok, 0), 1e-12 * SlancReference.maxRowNorm(table, cols));
        // a NaN: the same error as for a table in memory, naming the element
        bytes.putFloat(16 + 4 * (1234 * cols + 5), Float.NaN);
        java.nio.file.Files.write(file, bytes.array());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> EmbeddingBound.bound(tok, 0));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("'tok' contains NaN at stored element [1234, 5]"),
                e.getMessage());
    }

    @Test
    void aSkipNormWhoseSkipIsNotFromTablesGetsTheUnitScale() {
        // post-norm after ORT fusion: input = the embeddings, skip = the attention branch (here a graph input); the
        // unfused export (an Add in front of the norm) gets s = 1, so the fused one must too
        TestGraph t = new TestGraph(4);
        Value ids = t.input("ids", DataType.INT64, 2, 5);
        Value branch = t.input("branch", DataType.FLOAT, 2, 5, D);
        skipLayerNorm(t, t.op("Gather", t.weight("tok", 20, D, 1.0), ids), branch, null);
        assertEquals(1.0, firstNormScale(t));
    }

    @Test
    void rowsOfAQuantizedTableAreBoundedByTheDequantizedTable() {
        // quantize_dynamic's embedding: Gather(uint8 table) -> DequantizeLinear(per-tensor scale, zero point)
        TestGraph t = new TestGraph(5);
        int rows = 12;
        byte[] q = new byte[rows * D];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) ((i * 37 + 11) % 256);
        }
        Value table = t.g.addInitializer("tok_quantized", new ArrayTensor(DataType.UINT8, new long[] {rows, D}, ByteBuffer.wrap(q)));
        Value scale = t.scalar("tok_scale", 0.02f);
        Value zp = t.g.addInitializer("tok_zero_point", new ArrayTensor(DataType.UINT8, new long[0], ByteBuffer.wrap(new byte[] {(byte) 131})));
        Value ids = t.input("ids", DataType.INT64, 2, 5);
        Value rowsOut = t.op("DequantizeLinear", t.op("Gather", table, ids), scale, zp);
        t.node("", "LayerNormalization", List.of(rowsOut, t.vector("gamma", D, 1, 0.1), t.vector("beta", D, 0, 0.1)), 1,
                Attribute.ofFloat("epsilon", 1e-5f));
        double want = 0;
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int j = 0; j < D; j++) {
                double x = ((q[r * D + j] & 0xFF) - 131) * 0.02f; // DequantizeLinear's float32 product
                ss += x * x;
            }
            want = Math.max(want, Math.sqrt(ss));
        }
        assertEquals(want, firstNormScale(t), 1e-12 * want, "largest row norm of (q - zp) * scale");
    }
}
