package io.onnxslanc.check.inputs;

import io.onnxslanc.check.model.TensorData;
import ai.onnxruntime.platform.Fp16Conversions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads NumPy {@code .npy} files (format versions 1 to 3): a magic string, a header that is a Python dict literal
 * ({@code {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }}), then the values. Only the element types a
 * model input takes are accepted: float32, float16, int64, int32 (little-endian) and bool, in C order.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    public static TensorData read(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file);
    }

    static TensorData parse(byte[] bytes, Path file) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (byte m : MAGIC) {
            if (!b.hasRemaining() || b.get() != m) {
                throw bad(file, "not a NumPy .npy file (no \\x93NUMPY magic)");
            }
        }
        if (b.remaining() < 4) {
            throw bad(file, "truncated header");
        }
        int major = b.get() & 0xff;
        b.get(); // minor version
        long headerLength = switch (major) {
            case 1 -> b.getShort() & 0xffff;
            case 2, 3 -> b.getInt() & 0xffffffffL;
            default -> throw bad(file, "unsupported .npy format version " + major);
        };
        if (headerLength > b.remaining()) {
            throw bad(file, "truncated header");
        }
        byte[] h = new byte[(int) headerLength];
        b.get(h);
        String header = new String(h, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, file, "descr");
        if (group(FORTRAN, header, file, "fortran_order").equals("True")) {
            throw bad(file, "Fortran-ordered array; save it in C order (numpy.ascontiguousarray)");
        }
        long[] shape = shape(group(SHAPE, header, file, "shape"), file);
        long count = TensorData.elementCount(shape);
        int width = switch (descr) {
            case "<f4", "<i4" -> 4;
            case "<f2" -> 2;
            case "<i8" -> 8;
            case "|b1" -> 1;
            default -> throw bad(file, "element type '" + descr + "' is not supported (use float32 '<f4', float16 '<f2', "
                    + "int64 '<i8', int32 '<i4' or bool '|b1', little-endian)");
        };
        if (count > Integer.MAX_VALUE || count * width != b.remaining()) {
            throw bad(file, "shape " + java.util.Arrays.toString(shape) + " of " + descr + " needs " + count * width
                    + " bytes of data, the file holds " + b.remaining());
        }
        int n = (int) count;
        switch (descr) {
            case "<f4" -> {
                float[] f = new float[n];
                b.asFloatBuffer().get(f);
                return TensorData.ofFloats(shape, f);
            }
            case "<f2" -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = Fp16Conversions.fp16ToFloat(b.getShort());
                }
                return TensorData.ofFloats(shape, f);
            }
            default -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = width == 8 ? b.getLong() : width == 4 ? b.getInt() : b.get() != 0 ? 1 : 0;
                }
                return TensorData.ofLongs(shape, l);
            }
        }
    }

    private static String group(Pattern p, String header, Path file, String key) {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw bad(file, "header has no '" + key + "' entry: " + header.strip());
        }
        return m.group(1);
    }

    private static long[] shape(String tuple, Path file) {
        List<Long> dims = new ArrayList<>();
        for (String part : tuple.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            try {
                dims.add(Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p));
            } catch (NumberFormatException e) {
                throw bad(file, "shape (" + tuple + ") is not a tuple of integers");
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static IllegalArgumentException bad(Path file, String why) {
        return new IllegalArgumentException(file + ": " + why);
    }
}
