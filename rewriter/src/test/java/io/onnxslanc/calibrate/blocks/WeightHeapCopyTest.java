package io.onnxslanc.calibrate.blocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.ir.DataType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * External float weights are read into reused heap buffers for the calibration instead of being mapped: every
 * element must be the file's, in both storage orientations, when buffers are reused for smaller weights, when two
 * copies are open at once, and for a weight read in two halves on two threads.
 */
class WeightHeapCopyTest {
    @TempDir
    Path dir;

    @AfterEach
    void dropBuffers() {
        HeapCopies.releaseAll();
    }

    /** A data file holding {@code values} after {@code skip} bytes of other data. */
    private ExternalTensor external(String file, float[] values, int skip, long... dims) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(skip + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < skip; i++) {
            b.put((byte) 0x7f); // NaN bytes if the offset were ignored
        }
        b.asFloatBuffer().put(values);
        Path path = dir.resolve(file);
        Files.write(path, b.array());
        return new ExternalTensor(path, skip, 4L * values.length, DataType.FLOAT, dims);
    }

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** Every element of the math view against the stored floats read independently. */
    private static void assertElements(float[] stored, int storedRows, int storedCols, boolean storedIsMath, MatrixView view) {
        for (int sr = 0; sr < storedRows; sr++) {
            for (int sc = 0; sc < storedCols; sc++) {
                double expected = stored[sr * storedCols + sc];
                double actual = storedIsMath ? view.get(sr, sc) : view.get(sc, sr);
                assertEquals(expected, actual, 0.0, "stored element [" + sr + ", " + sc + "]");
            }
        }
    }

    @Test
    void copiesHoldTheFileBytesInBothOrientationsAndWhenReused() throws IOException {
        int rows = 1536;
        int cols = 1500; // 9.2 MB: read in two halves on two threads
        float[] big = random(rows * cols, 1);
        ExternalTensor bigTensor = external("big.data", big, 100, rows, cols);
        float[] small = random(70 * 30, 2);
        ExternalTensor smallTensor = external("small.data", small, 12, 70, 30);
        for (boolean storedIsMath : new boolean[] {false, true}) {
            try (WeightRef.Loaded a = WeightRef.whole("big", bigTensor, rows, cols, storedIsMath).load();
                 WeightRef.Loaded b = WeightRef.whole("big", bigTensor, rows, cols, storedIsMath).load()) {
                assertTrue(a.heapCopied() && b.heapCopied(), "read into the heap, not mapped");
                assertElements(big, rows, cols, storedIsMath, a.view());
                assertElements(big, rows, cols, storedIsMath, b.view());
            }
            // the small weight now takes one of the big buffers: only its own bytes may be visible
            try (WeightRef.Loaded s = WeightRef.whole("small", smallTensor, 70, 30, storedIsMath).load()) {
                assertTrue(s.heapCopied());
                assertEquals(storedIsMath ? 70 : 30, s.view().rows());
                assertElements(small, 70, 30, storedIsMath, s.view());
            }
        }
    }
}
