package io.onnxslanc.calibrate.quant;

import io.onnxslanc.calibrate.math.DecodedLines;
import java.nio.ByteBuffer;

/**
 * The weight of a com.microsoft MatMulNBits node, W [N x K] (math layout, one stored line per output feature):
 * B holds N x ceil(K / block_size) blobs of block_size * bits / 8 bytes, values packed from the low bits up
 * (4 bits: element 2j in the low nibble of byte j); W[n, k] = (q - zp) * scale with the scale and zero point of
 * block (n, k / block_size). Decoded per block run, so a run costs one scale lookup per block.
 */
public final class NBitsLines implements DecodedLines {
    private final ByteBuffer packed;
    private final int k;
    private final int bits;
    private final int blockSize;
    private final int blocksPerRow;
    private final int blobBytes;
    private final float[] scales;
    private final float[] zeroPoints;

    /**
     * @param packed     B's bytes, [N, blocksPerRow, blobBytes]
     * @param scales     one per block, row-major [N, blocksPerRow]
     * @param zeroPoints one per block, same layout (already unpacked), as floats
     */
    public NBitsLines(ByteBuffer packed, int n, int k, int bits, int blockSize, float[] scales, float[] zeroPoints) {
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits " + bits + " (4 and 8 are read)");
        }
        this.packed = packed.duplicate();
        this.k = k;
        this.bits = bits;
        this.blockSize = blockSize;
        this.blocksPerRow = blocksPerRow(k, blockSize);
        this.blobBytes = blockSize * bits / 8;
        long needed = (long) n * blocksPerRow * blobBytes;
        if (packed.remaining() < needed) {
            throw new IllegalArgumentException("B has " + packed.remaining() + " bytes, N " + n + " x " + blocksPerRow
                    + " blocks x " + blobBytes + " bytes needs " + needed);
        }
        int blocks = n * blocksPerRow;
        if (scales.length != blocks || zeroPoints.length != blocks) {
            throw new IllegalArgumentException(scales.length + " scales and " + zeroPoints.length + " zero points for "
                    + blocks + " blocks");
        }
        this.scales = scales;
        this.zeroPoints = zeroPoints;
    }

    /** One blob's bytes, per thread (read is called from the calibration's worker threads). */
    private static final ThreadLocal<byte[]> BLOB = ThreadLocal.withInitial(() -> new byte[0]);

    private byte[] blobBuffer() {
        byte[] bytes = BLOB.get();
        if (bytes.length < blobBytes) {
            bytes = new byte[blobBytes];
            BLOB.set(bytes);
        }
        return bytes;
    }

    public static int blocksPerRow(int k, int blockSize) {
        return (k + blockSize - 1) / blockSize;
    }

    /** Bytes of one row's packed zero points: ceil(blocksPerRow * bits / 8). */
    public static int zeroPointRowBytes(int blocksPerRow, int bits) {
        return (blocksPerRow * bits + 7) / 8;
    }

    /**
     * Zero points from their packed uint8 form ([N, zeroPointRowBytes], 4-bit values low nibble first), or the
     * default 2^(bits - 1) when {@code packedZp} is null.
     */
    public static float[] unpackZeroPoints(ByteBuffer packedZp, int n, int blocksPerRow, int bits) {
        float[] out = new float[n * blocksPerRow];
        if (packedZp == null) {
            java.util.Arrays.fill(out, 1 << (bits - 1));
            return out;
        }
        int rowBytes = zeroPointRowBytes(blocksPerRow, bits);
        if (packedZp.remaining() < (long) n * rowBytes) {
            throw new IllegalArgumentException("zero_points has " + packedZp.remaining() + " bytes, needs " + (long) n * rowBytes);
        }
        ByteBuffer b = packedZp.duplicate();
        int base = b.position();
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < blocksPerRow; j++) {
                int v;
                if (bits == 8) {
                    v = b.get(base + r * rowBytes + j) & 0xff;
                } else {
                    int by = b.get(base + r * rowBytes + j / 2) & 0xff;
                    v = (j & 1) == 0 ? by & 0x0f : by >>> 4;
                }
                out[r * blocksPerRow + j] = v;
            }
        }
        return out;
    }

    @Override
    public void read(int storedIndex, int len, float[] dst, int off) {
        int base = packed.position();
        int row = storedIndex / k;
        int col = storedIndex % k;
        byte[] bytes = blobBuffer();
        int done = 0;
        while (done < len) {
            int block = col / blockSize;
            int within = col - block * blockSize;
            int run = Math.min(Math.min(blockSize - within, k - col), len - done);
            int b = row * blocksPerRow + block;
            float scale = scales[b];
            float zp = zeroPoints[b];
            int blob = base + b * blobBytes;
            int o = off + done;
            // the block's bytes in one bulk read: a bounds-checked buffer read per element cost more than the decoding
            int first = bits == 8 ? within : within >>> 1;
            int count = bits == 8 ? run : ((within + run - 1) >>> 1) - first + 1;
            packed.get(blob + first, bytes, 0, count);
            if (bits == 8) {
                for (int i = 0; i < run; i++) {
                    dst[o + i] = ((bytes[i] & 0xff) - zp) * scale;
                }
            } else {
                // whole bytes two elements at a time (low nibble first); an odd start or end takes one nibble
                int i = 0;
                int at = 0;
                if ((within & 1) == 1) {
                    dst[o] = (((bytes[0] & 0xff) >>> 4) - zp) * scale;
                    i = 1;
                    at = 1;
                }
                for (; i + 1 < run; i += 2, at++) {
                    int by = bytes[at] & 0xff;
                    dst[o + i] = ((by & 0x0f) - zp) * scale;
                    dst[o + i + 1] = ((by >>> 4) - zp) * scale;
                }
                if (i < run) {
                    dst[o + i] = ((bytes[at] & 0x0f) - zp) * scale;
                }
            }
            done += run;
            col += run;
            if (col == k) {
                col = 0;
                row++;
            }
        }
    }
}
