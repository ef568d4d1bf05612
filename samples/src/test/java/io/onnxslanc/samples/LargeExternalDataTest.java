package io.onnxslanc.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import io.onnxslanc.samples.bench.IoBenchmark;
import io.onnxslanc.samples.bench.PatternTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A synthetic model whose external data exceeds 2 GiB round-trips with identical tensor bytes. */
class LargeExternalDataTest {
    @TempDir
    Path dir;

    @Test
    void modelOverTwoGibRoundTripsExactly() throws Exception {
        long total = (2L << 30) + (256L << 20); // 2.25 GiB
        Path model = IoBenchmark.createModel(dir, total);
        assertTrue(Files.exists(dir.resolve("synthetic-io.onnx.data")));

        Model m = ModelReader.read(model);
        Path copy = dir.resolve("copy.onnx");
        // AUTO mode must choose external data on its own: inline would exceed protobuf's 2 GiB
        ModelWriter.write(m, copy, WriteOptions.defaults());
        Model back = ModelReader.read(copy);
        long checked = 0;
        int tensor = 0;
        for (Value v : back.graph().initializers()) {
            if (!v.name().startsWith("w")) {
                continue;
            }
            assertTrue(v.constant() instanceof ExternalTensor, v.name());
            PatternTensor expected = new PatternTensor(tensor++, v.constant().dims());
            ByteBuffer b = v.constant().read().order(ByteOrder.LITTLE_ENDIAN);
            long n = v.constant().elementCount();
            // every 997th element plus the last one: a byte shifted anywhere in the file shows up
            for (long i = 0; i < n; i += 997) {
                assertEquals(Float.floatToRawIntBits(expected.valueAt(i)), b.getInt((int) (i * 4)), v.name() + "[" + i + "]");
            }
            assertEquals(Float.floatToRawIntBits(expected.valueAt(n - 1)), b.getInt((int) ((n - 1) * 4)));
            checked += v.constant().byteSize();
            v.constant().release(b);
        }
        assertTrue(checked > (2L << 30), "more than 2 GiB of weights checked: " + checked);
        assertEquals(Files.size(dir.resolve("synthetic-io.onnx.data")), Files.size(dir.resolve("copy.onnx.data")));
    }
}
