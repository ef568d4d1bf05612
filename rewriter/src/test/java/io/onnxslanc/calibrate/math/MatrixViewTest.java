package io.onnxslanc.calibrate.math;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MatrixViewTest {

    /** binary16 by its definition: (-1)^s 2^(e-15) (1 + f/1024), subnormals 2^-14 (f/1024). */
    private static double halfByDefinition(int bits) {
        int sign = (bits >> 15) & 1;
        int e = (bits >> 10) & 31;
        int f = bits & 1023;
        double magnitude = e == 0 ? Math.pow(2, -14) * (f / 1024.0) : Math.pow(2, e - 15) * (1 + f / 1024.0);
        return sign == 1 ? -magnitude : magnitude;
    }

    private static ByteBuffer shorts(int... values) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putShort((short) v);
        }
        return b.flip();
    }

    @Test
    void transposedViewSwapsIndicesAndBlocks() {
        float[] data = new float[3 * 5];
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.5f - 3;
        }
        MatrixView w = MatrixView.ofFloats("w", data, 3, 5);
        MatrixView t = w.transposed();
        assertEquals(5, t.rows());
        assertEquals(3, t.cols());
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 5; c++) {
                assertEquals(data[r * 5 + c], w.get(r, c));
                assertEquals(data[r * 5 + c], t.get(c, r));
            }
        }
        double[] block = new double[3 * 2];
        t.copyBlock(1, 4, 1, 3, block); // t rows 1..3, cols 1..2 = w[1..2][1..3]^T
        assertArrayEquals(new double[] {w.get(1, 1), w.get(2, 1), w.get(1, 2), w.get(2, 2), w.get(1, 3), w.get(2, 3)}, block);
        double[] rows = new double[2 * 3];
        t.copyRows(3, 5, rows);
        assertArrayEquals(new double[] {data[3], data[8], data[13], data[4], data[9], data[14]}, rows);
        assertEquals(w.get(2, 4), t.transposed().get(2, 4));
    }

    @Test
    void readsFromBufferPositionInLittleEndianWithoutTouchingTheBuffer() {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * 4).order(ByteOrder.BIG_ENDIAN);
        b.putInt(0xdeadbeef);
        ByteBuffer little = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        little.position(4);
        little.putFloat(1.5f).putFloat(-2f).putFloat(3.25f).putFloat(1e-3f);
        b.position(4);
        MatrixView v = MatrixView.of("w", b, MatrixView.ElementType.FLOAT32, 2, 2);
        assertEquals(1.5, v.get(0, 0));
        assertEquals(-2.0, v.get(0, 1));
        assertEquals(3.25, v.get(1, 0));
        assertEquals((double) 1e-3f, v.get(1, 1));
        assertEquals(4, b.position());
        assertEquals(ByteOrder.BIG_ENDIAN, b.order());
    }

    @Test
    void decodesEveryFloat16() {
        for (int bits = 0; bits < 65536; bits++) {
            if (((bits >> 10) & 31) == 31) {
                continue; // inf / NaN are rejected, tested below
            }
            MatrixView v = MatrixView.of("h", shorts(bits), MatrixView.ElementType.FLOAT16, 1, 1);
            double[] out = new double[1];
            v.copyRows(0, 1, out);
            assertEquals(halfByDefinition(bits), out[0], "bits 0x" + Integer.toHexString(bits));
            assertEquals(halfByDefinition(bits), v.get(0, 0));
        }
        MatrixView known = MatrixView.of("h", shorts(0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000),
                MatrixView.ElementType.FLOAT16, 2, 3);
        assertEquals(1.0, known.get(0, 0));
        assertEquals(-2.0, known.get(0, 1));
        assertEquals(65504.0, known.get(0, 2));
        assertEquals(Math.pow(2, -24), known.get(1, 0));
        assertEquals(0.333251953125, known.get(1, 1));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(known.get(1, 2)));
        assertEquals(-1.0, known.transposed().get(0, 0) - 2.0);
    }

    @Test
    void decodesBfloat16() {
        MatrixView v = MatrixView.of("b", shorts(0x3f80, 0xc049, 0x0001, 0x7f7f), MatrixView.ElementType.BFLOAT16, 2, 2);
        assertEquals(1.0, v.get(0, 0));
        assertEquals(-3.140625, v.get(0, 1));
        assertEquals(Math.pow(2, -133), v.get(1, 0)); // smallest bf16 subnormal, as float
        assertEquals(Float.intBitsToFloat(0x7f7f0000), v.get(1, 1));
        double[] all = new double[4];
        v.transposed().copyRows(0, 2, all);
        assertArrayEquals(new double[] {1.0, Math.pow(2, -133), -3.140625, Float.intBitsToFloat(0x7f7f0000)}, all);
    }

    @Test
    void blockCopiesNameTheWeightAndPositionOfNaNOrInfinity() {
        float[] data = new float[4 * 6];
        data[2 * 6 + 3] = Float.NaN;
        MatrixView w = MatrixView.ofFloats("layers.3.attn.o_proj.weight", data, 4, 6);
        double[] dst = new double[24];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.transposed().copyRows(0, 6, dst));
        assertTrue(e.getMessage().contains("'layers.3.attn.o_proj.weight' contains NaN at stored element [2, 3]"), e.getMessage());
        assertTrue(Double.isNaN(w.get(2, 3)), "get() returns the raw value");

        MatrixView half = MatrixView.of("h", shorts(0x3c00, 0xfc00), MatrixView.ElementType.FLOAT16, 1, 2);
        e = assertThrows(IllegalArgumentException.class, () -> half.copyRows(0, 1, new double[2]));
        assertTrue(e.getMessage().contains("'h' contains -Infinity at stored element [0, 1]"), e.getMessage());
        MatrixView bf = MatrixView.of("b", shorts(0x7fc0), MatrixView.ElementType.BFLOAT16, 1, 1);
        e = assertThrows(IllegalArgumentException.class, () -> bf.copyRows(0, 1, new double[1]));
        assertTrue(e.getMessage().contains("'b' contains NaN"), e.getMessage());
    }

    @Test
    void theParallelFinitenessCheckNamesTheFirstBadElementInStorageOrder() {
        int rows = 1500;
        int cols = 2000; // 3M elements: three tasks of the pool
        float[] data = new float[rows * cols];
        data[2_900_000] = Float.NaN; // in the last task, which a second thread may well finish first
        data[1_100_001] = Float.POSITIVE_INFINITY; // in the second
        MatrixView w = MatrixView.ofFloats("w", data, rows, cols);
        for (int threads : new int[] {1, 3}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.checkFinite(pool));
                assertTrue(e.getMessage().contains("'w' contains Infinity at stored element [550, 1]"), e.getMessage());
            }
        }
        data[1_100_001] = 0;
        data[2_900_000] = 0;
        MatrixView clean = MatrixView.ofFloats("w", data, rows, cols);
        try (WorkerPool pool = new WorkerPool(3)) {
            clean.checkFinite(pool); // all finite: no exception
        }
    }

    @Test
    void scalesRejectNonFiniteWeightsInBothModes() {
        Random random = new Random(2);
        int d = 16;
        double[][] wv = ReferenceMath.randomMatrix(random, d, d, 1);
        double[][] wo = ReferenceMath.randomMatrix(random, d, d, 1);
        wo[5][7] = Double.POSITIVE_INFINITY;
        for (SlancScales.Options options : new SlancScales.Options[] {
                SlancScales.Options.defaults().alwaysExact(), SlancScales.Options.defaults().alwaysEstimate()}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SlancScales.attention(
                    ReferenceMath.view("v", wv, true), ReferenceMath.view("o_proj", wo, true), null, 4, 4, options));
            assertTrue(e.getMessage().contains("'o_proj' contains Infinity at stored element [7, 5]"), e.getMessage());
        }
        // GQA folds W_o: the message still names W_o
        double[][] wvSmall = ReferenceMath.randomMatrix(random, 8, d, 1);
        wo[14][2] = Double.NaN; // a second bad element, in a later batch of the parallel decode: the first is named
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SlancScales.attention(
                ReferenceMath.view("v", wvSmall, false), ReferenceMath.view("o_proj", wo, false), null, 4, 2,
                SlancScales.Options.defaults()));
        assertTrue(e.getMessage().contains("'o_proj' contains Infinity at stored element [5, 7]"), e.getMessage());
    }

    @Test
    void elementTypesFromOnnxCodes() {
        assertEquals(MatrixView.ElementType.FLOAT32, MatrixView.ElementType.fromOnnx(1));
        assertEquals(MatrixView.ElementType.FLOAT16, MatrixView.ElementType.fromOnnx(10));
        assertEquals(MatrixView.ElementType.BFLOAT16, MatrixView.ElementType.fromOnnx(16));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MatrixView.ElementType.fromOnnx(11));
        assertTrue(e.getMessage().contains("ONNX data type 11"), e.getMessage());
    }

    @Test
    void badShapesAndShortBuffersAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MatrixView.of("w", ByteBuffer.allocate(10), MatrixView.ElementType.FLOAT16, 2, 3));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("needs 12"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MatrixView.of("w", ByteBuffer.allocate(10), MatrixView.ElementType.FLOAT16, 0, 3));
        assertTrue(e.getMessage().contains("shape must be positive"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MatrixView.ofFloats("w", new float[5], 2, 3));
    }
}
