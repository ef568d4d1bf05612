package io.onnxslanc.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.ir.DataType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ExternalTensor#readInto}: a large tensor read in two halves on two threads, bytes and failures. */
class ExternalTensorReadTest {
    @TempDir
    Path dir;

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(9).nextBytes(b);
        return b;
    }

    @Test
    void bothHalvesLandAtTheirPlaces() throws IOException {
        byte[] file = random(12_000_123); // over 8 MiB: two halves
        Path path = dir.resolve("w.data");
        Files.write(path, file);
        int skip = 123;
        ExternalTensor t = new ExternalTensor(path, skip, file.length - skip, DataType.UINT8, new long[] {file.length - skip});
        ByteBuffer dst = ByteBuffer.allocate(file.length); // larger than the tensor: the rest stays untouched
        t.readInto(dst);
        byte[] got = new byte[file.length - skip];
        dst.get(0, got);
        assertArrayEquals(java.util.Arrays.copyOfRange(file, skip, file.length), got);
        for (int i = file.length - skip; i < file.length; i++) {
            assertTrue(dst.get(i) == 0, "byte " + i + " written past the tensor");
        }
    }

    @Test
    void aFileShorterThanTheTensorFailsNamingTheFile() throws IOException {
        Path path = dir.resolve("short.data");
        Files.write(path, random(9_000_000)); // the tensor claims 10 MB: the second half runs out
        ExternalTensor t = new ExternalTensor(path, 0, 10_000_000, DataType.UINT8, new long[] {10_000_000});
        IOException e = assertThrows(IOException.class, () -> t.readInto(ByteBuffer.allocate(10_000_000)));
        assertTrue(e.getMessage().contains("short.data") && e.getMessage().contains("ends at byte"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.readInto(ByteBuffer.allocate(100)));
    }
}
