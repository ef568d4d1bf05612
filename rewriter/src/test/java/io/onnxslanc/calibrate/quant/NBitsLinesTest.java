package io.onnxslanc.calibrate.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every run [start, start + len) of a MatMulNBits weight, odd and even starts and ends, across block and row
 * boundaries, decodes to the bits of the element-wise definition W[n, k] = (q - zp) * scale.
 */
class NBitsLinesTest {

    @Test
    void everyRunMatchesTheElementwiseDefinition() {
        for (int bits : new int[] {4, 8}) {
            int n = 3, k = 37, blockSize = 16; // k not a multiple of the block: a short last block per row
            int blocksPerRow = NBitsLines.blocksPerRow(k, blockSize);
            int blobBytes = blockSize * bits / 8;
            SplittableRandom random = new SplittableRandom(bits);
            byte[] packed = new byte[n * blocksPerRow * blobBytes + 5];
            for (int i = 0; i < packed.length; i++) {
                packed[i] = (byte) random.nextInt(256);
            }
            float[] scales = new float[n * blocksPerRow];
            float[] zeroPoints = new float[n * blocksPerRow];
            for (int b = 0; b < scales.length; b++) {
                scales[b] = (float) (random.nextDouble() * 0.1 + 1e-3);
                zeroPoints[b] = random.nextInt(1 << bits);
            }
            ByteBuffer buffer = ByteBuffer.allocateDirect(packed.length);
            buffer.put(packed).position(3); // a view not starting at 0
            NBitsLines lines = new NBitsLines(buffer.slice(), n, k, bits, blockSize, scales, zeroPoints);
            float[] expected = new float[n * k];
            for (int r = 0; r < n; r++) {
                for (int c = 0; c < k; c++) {
                    int b = r * blocksPerRow + c / blockSize;
                    int e = c % blockSize;
                    int at = 3 + b * blobBytes + (bits == 8 ? e : e / 2);
                    int by = packed[at] & 0xff;
                    int q = bits == 8 ? by : e % 2 == 0 ? by % 16 : by / 16;
                    expected[r * k + c] = (q - zeroPoints[b]) * scales[b];
                }
            }
            for (int start = 0; start < n * k; start++) {
                for (int len = 1; start + len <= n * k; len += 1 + len / 3) {
                    float[] dst = new float[len + 2];
                    lines.read(start, len, dst, 1);
                    for (int i = 0; i < len; i++) {
                        assertEquals(Float.floatToRawIntBits(expected[start + i]), Float.floatToRawIntBits(dst[1 + i]),
                                bits + " bits, run " + start + "+" + len + ", element " + i);
                    }
                    assertEquals(0f, dst[0]);
                    assertEquals(0f, dst[len + 1]);
                }
            }
        }
    }
}
