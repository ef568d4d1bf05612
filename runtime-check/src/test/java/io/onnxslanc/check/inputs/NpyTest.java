package io.onnxslanc.check.inputs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.model.TensorData;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The .npy reader on files laid out byte by byte here as NumPy's format description gives them. */
class NpyTest {
    private static final Path FILE = Path.of("x.npy");

    /** Version 1.0: magic, 2 version bytes, little-endian header length, header padded with spaces to 64, '\n'. */
    static byte[] npy(String descr, boolean fortran, String shape, byte[] data) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        out.write(header.length() & 0xff);
        out.write(header.length() >> 8);
        out.writeBytes(header.getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    static byte[] le(int width, long... values) {
        ByteBuffer b = ByteBuffer.allocate(width * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (width) {
                case 8 -> b.putLong(v);
                case 4 -> b.putInt((int) v);
                case 2 -> b.putShort((short) v);
                default -> b.put((byte) v);
            }
        }
        return b.array();
    }

    @Test
    void readsEachSupportedTypeInCOrder() {
        ByteBuffer f = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : new float[] {1.5f, -2f, 0f, 3.25f, 1e-3f, 65504f}) {
            f.putFloat(v);
        }
        TensorData f4 = Npy.parse(npy("<f4", false, "(2, 3)", f.array()), FILE);
        assertArrayEquals(new long[] {2, 3}, f4.shape());
        assertArrayEquals(new float[] {1.5f, -2f, 0f, 3.25f, 1e-3f, 65504f}, f4.floats());

        // float16 bit patterns: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001
        TensorData f2 = Npy.parse(npy("<f2", false, "(4,)", le(2, 0x3c00, 0xc000, 0x7bff, 0x0001)), FILE);
        assertArrayEquals(new float[] {1f, -2f, 65504f, (float) Math.pow(2, -24)}, f2.floats());

        TensorData i8 = Npy.parse(npy("<i8", false, "(1, 3)", le(8, 7, -1, 1L << 40)), FILE);
        assertArrayEquals(new long[] {7, -1, 1L << 40}, i8.longs());
        TensorData i4 = Npy.parse(npy("<i4", false, "(3,)", le(4, 5, -6, 2_000_000_000)), FILE);
        assertArrayEquals(new long[] {5, -6, 2_000_000_000}, i4.longs());
        TensorData b1 = Npy.parse(npy("|b1", false, "(2, 2)", le(1, 1, 0, 0, 1)), FILE);
        assertArrayEquals(new long[] {1, 0, 0, 1}, b1.longs());
        TensorData scalar = Npy.parse(npy("<i8", false, "()", le(8, 42)), FILE);
        assertArrayEquals(new long[0], scalar.shape());
        assertArrayEquals(new long[] {42}, scalar.longs());
    }

    @Test
    void rejectsOtherTypesFortranOrderAndWrongSizesWithTheFileName() {
        for (String descr : new String[] {">f4", "<f8", "<u2", "<U5", "|O"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Npy.parse(npy(descr, false, "(1,)", new byte[8]), FILE));
            assertTrue(e.getMessage().startsWith("x.npy: element type '" + descr + "' is not supported"), e.getMessage());
        }
        IllegalArgumentException fortran = assertThrows(IllegalArgumentException.class,
                () -> Npy.parse(npy("<f4", true, "(2, 2)", new byte[16]), FILE));
        assertTrue(fortran.getMessage().contains("Fortran-ordered"), fortran.getMessage());
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> Npy.parse(npy("<f4", false, "(2, 2)", new byte[12]), FILE));
        assertTrue(size.getMessage().contains("needs 16 bytes"), size.getMessage());
        IllegalArgumentException magic = assertThrows(IllegalArgumentException.class,
                () -> Npy.parse("not numpy".getBytes(StandardCharsets.US_ASCII), FILE));
        assertTrue(magic.getMessage().contains("not a NumPy .npy file"), magic.getMessage());
    }
}
