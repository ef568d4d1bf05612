package io.onnxslanc.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.DataType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An external weight of many conversion chunks, converted on worker threads while earlier chunks are written: the
 * bytes and clamp counts must be those of converting the same floats in memory in one go.
 */
class ConversionPipelineTest {
    @TempDir
    Path dir;

    /** Floats of every magnitude, with values that clamp high and low, NaN and infinity sprinkled in. */
    private static float[] weights(int n) {
        Random r = new Random(5);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(13) - 8));
        }
        for (int i = 0; i < n; i += 100_003) {
            w[i] = i % 3 == 0 ? 1e6f : i % 3 == 1 ? 1e-9f : Float.NaN;
        }
        w[n - 1] = Float.NEGATIVE_INFINITY;
        return w;
    }

    private ExternalTensor external(float[] w, long skip) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) (skip + 4L * w.length)).order(ByteOrder.LITTLE_ENDIAN);
        b.position((int) skip);
        b.asFloatBuffer().put(w);
        Path file = dir.resolve("w.data");
        Files.write(file, b.array());
        return new ExternalTensor(file, skip, 4L * w.length, DataType.FLOAT, new long[] {w.length});
    }

    private static byte[] written(ConvertedTensor t) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (WritableByteChannel out = Channels.newChannel(bos)) {
            t.writeTo(out);
        }
        return bos.toByteArray();
    }

    @Test
    void manyChunksGiveTheBytesAndCountsOfOneConversionInMemory() throws IOException {
        int n = ConvertedTensor.CHUNK_BYTES / 4 * (ConversionPipeline.AHEAD + 2) + 12_345; // more chunks than in flight
        float[] w = weights(n);
        ConvertedTensor piped = new ConvertedTensor(external(w, 8), DataType.FLOAT16, Fp16Clamp.DEFAULT);
        byte[] got = written(piped);

        ConvertedTensor inMemory = new ConvertedTensor(ArrayTensor.ofFloats(new long[] {n}, w), DataType.FLOAT16,
                Fp16Clamp.DEFAULT);
        ByteBuffer expected = inMemory.read();
        byte[] want = new byte[expected.remaining()];
        expected.get(want);
        assertArrayEquals(want, got);
        ClampStats stats = piped.stats().orElseThrow();
        assertEquals(inMemory.stats().orElseThrow(), stats);
        assertTrue(stats.clampedHigh() > 0 && stats.clampedLow() > 0 && stats.nan() > 0 && stats.infinite() == 1, stats.toString());
    }

    @Test
    void aDataFileShorterThanItsTensorFailsWithTheFileNamed() throws IOException {
        int n = ConvertedTensor.CHUNK_BYTES / 4 * 3;
        float[] w = weights(n);
        ExternalTensor full = external(w, 0);
        Path file = full.file();
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(4L * n - 1000); // the last chunk runs past the end
        }
        ConvertedTensor t = new ConvertedTensor(full, DataType.FLOAT16, Fp16Clamp.DEFAULT);
        IOException e = assertThrows(IOException.class, () -> written(t));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("ends at byte"), e.getMessage());
    }
}
