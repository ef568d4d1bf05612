package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Header parsing, layout, and bad-input messages of the llama2.c reader. */
class Llama2cCheckpointTest {

    @TempDir
    Path dir;

    @Test
    void readsStories260KHeader() throws IOException {
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(TestData.stories260K())) {
            assertEquals(new LlamaConfig(64, 172, 5, 8, 4, 512, 512, true), ckpt.config());
            assertEquals(1_056_540L, Llama2cCheckpoint.expectedFileSize(ckpt.config()));
        }
    }

    @Test
    void linearWeightsAreTransposedToMatMulLayout() throws IOException {
        byte[] raw = Files.readAllBytes(TestData.stories260K());
        FloatBuffer f = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).position(28).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        // wk of layer 3 (kv_dim 32 x dim 64) starts after embedding, rms_att, wq
        int wkStart = 512 * 64 + 5 * 64 + 5 * 64 * 64 + 3 * 32 * 64;
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(TestData.stories260K())) {
            float[] b = collect(ckpt.values(LlamaTensor.WK, 3));
            assertEquals(64 * 32, b.length);
            for (int in = 0; in < 64; in++) {
                for (int out = 0; out < 32; out++) assertEquals(f.get(wkStart + out * 64 + in), b[in * 32 + out]);
            }
            float[] finalNorm = collect(ckpt.values(LlamaTensor.FINAL_NORM, 0));
            int finalStart = 512 * 64 + 5 * 64 + 5 * (64 * 64 * 2 + 32 * 64 * 2) + 5 * 64 + 3 * 5 * 172 * 64;
            for (int i = 0; i < 64; i++) assertEquals(f.get(finalStart + i), finalNorm[i]);
        }
    }

    static float[] collect(TensorValues v) throws IOException {
        float[] out = new float[Math.toIntExact(v.elementCount())];
        int[] pos = {0};
        v.writeTo(chunk -> {
            int n = chunk.remaining();
            chunk.get(out, pos[0], n);
            pos[0] += n;
        });
        assertEquals(out.length, pos[0]);
        return out;
    }

    @Test
    void truncatedWeights() throws IOException {
        Path bad = dir.resolve("cut.bin");
        Files.write(bad, Arrays.copyOf(Files.readAllBytes(TestData.stories260K()), 500_000));
        String msg = assertThrows(Llama2cFormatException.class, () -> Llama2cCheckpoint.open(bad)).getMessage();
        System.out.println(msg);
        assertTrue(msg.startsWith(bad.toString() + ": truncated llama2.c checkpoint"), msg);
        assertTrue(msg.contains("1056540 bytes") && msg.contains("500000"), msg);
        assertTrue(msg.lines().count() == 1);
    }

    @Test
    void truncatedHeader() throws IOException {
        Path bad = dir.resolve("tiny.bin");
        Files.write(bad, new byte[10]);
        String msg = assertThrows(Llama2cFormatException.class, () -> Llama2cCheckpoint.open(bad)).getMessage();
        assertTrue(msg.startsWith(bad + ": truncated") && msg.contains("header"), msg);
    }

    @Test
    void headerDisagreesWithFileSize() throws IOException {
        Path bad = dir.resolve("long.bin");
        byte[] raw = Files.readAllBytes(TestData.stories260K());
        Files.write(bad, Arrays.copyOf(raw, raw.length + 4096));
        String msg = assertThrows(Llama2cFormatException.class, () -> Llama2cImporter.importCheckpoint(bad, ImportOptions.defaults())).getMessage();
        System.out.println(msg);
        assertTrue(msg.startsWith(bad + ": llama2.c header disagrees with the file size"), msg);
    }

    @Test
    void unsharedClassifierFlagWithoutClassifier() throws IOException {
        Path bad = withHeaderField(5, -512);
        String msg = assertThrows(Llama2cFormatException.class, () -> Llama2cCheckpoint.open(bad)).getMessage();
        System.out.println(msg);
        assertTrue(msg.contains("truncated") && msg.contains("vocab_size=-512") && msg.contains("shared classifier"), msg);
    }

    @Test
    void nonsensicalHeaders() throws IOException {
        assertHeaderProblem(withHeaderField(0, 0), "dim must be positive");
        assertHeaderProblem(withHeaderField(3, 7), "n_heads 7 does not divide dim 64");
        assertHeaderProblem(withHeaderField(4, 3), "n_kv_heads 3 does not divide n_heads 8");
        assertHeaderProblem(withHeaderField(2, -5), "n_layers must be positive");
        assertHeaderProblem(withHeaderField(0, Integer.MAX_VALUE), "n_heads 8 does not divide dim");
    }

    private void assertHeaderProblem(Path file, String expected) {
        String msg = assertThrows(Llama2cFormatException.class, () -> Llama2cCheckpoint.open(file)).getMessage();
        assertTrue(msg.startsWith(file + ": not a llama2.c checkpoint, nonsensical header") && msg.contains(expected), msg);
    }

    /** stories260K with one int32 header field replaced. */
    private Path withHeaderField(int index, int value) throws IOException {
        byte[] raw = Files.readAllBytes(TestData.stories260K());
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).putInt(4 * index, value);
        Path p = dir.resolve("field" + index + "_" + value + ".bin");
        Files.write(p, raw);
        return p;
    }
}
