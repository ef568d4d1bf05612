package io.onnxslanc.calibrate.blocks;

import static io.onnxslanc.calibrate.Transformers.LD;
import static io.onnxslanc.calibrate.Transformers.LFF;
import static io.onnxslanc.calibrate.Transformers.LHD;
import static io.onnxslanc.calibrate.Transformers.LHEADS;
import static io.onnxslanc.calibrate.Transformers.LKV;
import static io.onnxslanc.ir.Attribute.ofInt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.calibrate.NormCalibration;
import io.onnxslanc.calibrate.SlancCalibrator;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.calibrate.SlancReference;
import io.onnxslanc.calibrate.TestGraph;
import io.onnxslanc.calibrate.math.SlancScales;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Quantized weights read dequantized: a fused Llama-style block (SimplifiedLayerNormalization, GroupQueryAttention
 * fed by one packed QKV MatMulNBits, a MatMulNBits W_o, SkipSimplifiedLayerNormalization, a dynamically quantized
 * MatMulInteger W_1, an int4 blocked DequantizeLinear W_2). The test packs random integers by hand, dequantizes them
 * itself in float32 ((q - zp) * scale, the ONNX Runtime formula) and computes the SLaNC formulas in double
 * ({@link SlancReference}); the calibrator must find the same scales (1e-9 relative, exact arithmetic mode).
 */
class QuantizedWeightsTest {
    private static final SlancOptions EXACT = SlancOptions.defaults().withPowerOfTwo(false)
            .withMath(SlancScales.Options.defaults().alwaysExact().withPowerTolerance(1e-14).withPowerMaxIterations(2000));

    private final Random random = new Random(5);

    private static Map<String, NormCalibration> calibrate(TestGraph t) {
        return SlancCalibrator.compute(BlockFinder.findAll(t.g, t.sites), EXACT).stream()
                .collect(Collectors.toMap(c -> c.block().site().name(), Function.identity()));
    }

    /** Packs values (each in [0, 2^bits)) low bits first: 4 bits two per byte, element 2j in the low nibble. */
    private static byte[] pack(int[] v, int bits) {
        byte[] out = new byte[(v.length * bits + 7) / 8];
        for (int i = 0; i < v.length; i++) {
            if (bits == 8) {
                out[i] = (byte) v[i];
            } else {
                out[i / 2] |= (byte) ((v[i] & 0xf) << (i % 2 == 0 ? 0 : 4));
            }
        }
        return out;
    }

    private static Value bytes(TestGraph t, String name, DataType type, long[] dims, byte[] b) {
        return t.g.addInitializer(name, new ArrayTensor(type, dims, ByteBuffer.wrap(b)));
    }

    private float[] scales(int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (float) (0.01 + 0.03 * random.nextDouble());
        }
        return s;
    }

    private int[] ints(int n, int lo, int hi) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + random.nextInt(hi - lo + 1);
        }
        return v;
    }

    /** A MatMulNBits weight W [n x k]; returns W dequantized in the math layout. */
    private double[][] matMulNBits(TestGraph t, String name, int n, int k, int bits, int block, boolean zeroPoints,
                                   List<Value> inputs) {
        int blocks = (k + block - 1) / block;
        int[] q = new int[n * blocks * block]; // padded blobs; padding values are never read
        int[] raw = ints(n * blocks * block, 0, (1 << bits) - 1);
        System.arraycopy(raw, 0, q, 0, q.length);
        float[] s = scales(n * blocks);
        int[] zp = zeroPoints ? ints(n * blocks, 0, (1 << bits) - 1) : null;
        int zpRow = (blocks * bits + 7) / 8;
        inputs.add(bytes(t, name + "_q", DataType.UINT8, new long[] {n, blocks, block * bits / 8}, pack(q, bits)));
        inputs.add(t.floats(name + "_scales", new long[] {(long) n * blocks}, s));
        if (zeroPoints) {
            byte[] packedZp = new byte[n * zpRow];
            for (int r = 0; r < n; r++) {
                byte[] row = pack(Arrays.copyOfRange(zp, r * blocks, (r + 1) * blocks), bits);
                System.arraycopy(row, 0, packedZp, r * zpRow, row.length);
            }
            inputs.add(bytes(t, name + "_zp", DataType.UINT8, new long[] {(long) n * zpRow}, packedZp));
        }
        double[][] w = new double[n][k];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                int b = r * blocks + c / block;
                int z = zeroPoints ? zp[b] : 1 << (bits - 1);
                w[r][c] = (float) ((q[b * block + c % block] - z) * s[b]);
            }
        }
        return w;
    }

    private Node nbitsNode(TestGraph t, Value a, List<Value> inputs, int n, int k, int bits, int block) {
        List<Value> all = new ArrayList<>(List.of(a));
        all.addAll(inputs);
        return t.node("com.microsoft", "MatMulNBits", all, 1, ofInt("K", k), ofInt("N", n), ofInt("bits", bits),
                ofInt("block_size", block));
    }

    @Test
    void fusedQuantizedBlockScalesMatchTheDequantizedFormulas() {
        TestGraph t = new TestGraph(3);
        Value ids = t.input("ids", DataType.INT64, 1, 5);
        Value x = t.op("Gather", t.weight("embed", 10, LD, 1.0), ids);
        Value h = t.rmsNorm("input_ln", x, t.vector("input_ln.weight", LD, 1.0, 0.3), 1e-5f, LD).output();
        int qkv = (LHEADS + 2 * LKV) * LHD;

        List<Value> qkvIn = new ArrayList<>();
        double[][] wQkv = matMulNBits(t, "qkv", qkv, LD, 4, 16, true, qkvIn);
        Value packed = nbitsNode(t, h, qkvIn, qkv, LD, 4, 16).output(0);
        List<Value> gqaIn = new ArrayList<>(Arrays.asList(packed, null, null));
        Value ctx = t.node("com.microsoft", "GroupQueryAttention", gqaIn, 1, ofInt("num_heads", LHEADS),
                ofInt("kv_num_heads", LKV)).output(0);

        List<Value> woIn = new ArrayList<>();
        double[][] wo = matMulNBits(t, "wo", LD, LD, 8, 16, false, woIn);
        Value o = nbitsNode(t, ctx, woIn, LD, LD, 8, 16).output(0);
        var skip = t.skipRmsNorm("post_ln", x, o, t.vector("post_ln.weight", LD, 1.0, 0.3), null, 1e-5f, LD);

        // W_1: dynamic quantization as ONNX Runtime's quantize_dynamic writes it, uint8 [K, N], per-column scale and zp
        Node dql = t.node("", "DynamicQuantizeLinear", List.of(skip.output()), 3);
        int[] b1 = ints(LD * LFF, 0, 255);
        byte[] b1Bytes = new byte[b1.length];
        for (int i = 0; i < b1.length; i++) {
            b1Bytes[i] = (byte) b1[i];
        }
        int[] zp1 = ints(LFF, 100, 156);
        byte[] zp1Bytes = new byte[LFF];
        for (int i = 0; i < LFF; i++) {
            zp1Bytes[i] = (byte) zp1[i];
        }
        float[] s1 = scales(LFF);
        Value mmi = t.op("MatMulInteger", List.of(dql.output(0), bytes(t, "w1_q", DataType.UINT8, new long[] {LD, LFF}, b1Bytes),
                dql.output(2), bytes(t, "w1_zp", DataType.UINT8, new long[] {LFF}, zp1Bytes)));
        Value cast = t.op("Cast", List.of(mmi), ofInt("to", DataType.FLOAT.code()));
        Value outScale = t.op("Mul", dql.output(1), t.floats("w1_scale", new long[] {LFF}, s1));
        Value f = t.op("Relu", t.op("Mul", cast, outScale));
        double[][] w1 = new double[LFF][LD];
        for (int k = 0; k < LD; k++) {
            for (int n = 0; n < LFF; n++) {
                w1[n][k] = (float) ((b1[k * LFF + n] - zp1[n]) * s1[n]);
            }
        }

        // W_2: DequantizeLinear INT4 [K = 48, N = 32] blocked along K (block 32: the second block is half full)
        int[] q2 = ints(LFF * LD, -8, 7);
        int blocks2 = (LFF + 31) / 32;
        float[] s2 = scales(blocks2 * LD);
        Value dq = t.op("DequantizeLinear", List.of(bytes(t, "w2_q", DataType.INT4, new long[] {LFF, LD}, pack(q2, 4)),
                t.floats("w2_scale", new long[] {blocks2, LD}, s2)), ofInt("axis", 0), ofInt("block_size", 32));
        Value down = t.matMul(f, dq);
        double[][] w2 = new double[LD][LFF];
        for (int k = 0; k < LFF; k++) {
            for (int n = 0; n < LD; n++) {
                w2[n][k] = (float) (q2[k * LD + n] * s2[(k / 32) * LD + n]);
            }
        }
        Value r = t.op("Add", skip.root().output(3), down);
        t.g.addOutput(t.rmsNorm("final_ln", r, t.vector("final_ln.weight", LD, 1.0, 0.3), 1e-5f, LD).output());

        Map<String, NormCalibration> c = calibrate(t);
        int vFrom = (LHEADS + LKV) * LHD;
        double att = SlancReference.attention(SlancReference.rows(wQkv, vFrom, vFrom + LKV * LHD), wo,
                SlancReference.toDoubles(t.data("input_ln.weight")), LHEADS, LKV);
        assertEquals(att, c.get("post_ln").result().scale(), 1e-9 * att, "attention from MatMulNBits QKV (V rows) and W_o: "
                + c.get("post_ln").reason());
        double mlp = SlancReference.plainMlp(w1, w2, SlancReference.toDoubles(t.data("post_ln.weight")));
        assertEquals(mlp, c.get("final_ln").result().scale(), 1e-9 * mlp, "MLP from MatMulInteger W_1 and int4 W_2: "
                + c.get("final_ln").reason());

        NormBlock attBlock = c.get("post_ln").block();
        assertTrue(attBlock.weights().values().stream().allMatch(w -> w.tensor() instanceof QuantizedWeight));
        String how = ((QuantizedWeight) attBlock.weights().get(WeightRole.V).tensor()).how();
        assertEquals("MatMulNBits 4-bit, block_size 16, FLOAT scales, packed uint8 zero points", how);
        String how1 = ((QuantizedWeight) c.get("final_ln").block().weights().get(WeightRole.W1).tensor()).how();
        assertTrue(how1.startsWith("MatMulInteger UINT8 weight, per-column scale from 'w1_scale'"), how1);
    }

    @Test
    void gIdxIsRejectedWithAReason() {
        TestGraph t = new TestGraph(4);
        Value x = t.input("x", DataType.FLOAT, 1, LD);
        List<Value> in = new ArrayList<>();
        matMulNBits(t, "w", LD, LD, 4, 16, false, in);
        in.add(null); // zero_points
        in.add(t.g.addInitializer("g_idx", ArrayTensor.ofLongs(new long[] {LD}, new long[LD])));
        Node n = nbitsNode(t, x, in, LD, LD, 4, 16);
        Found<LinearLayer> f = LinearLayer.of(n);
        assertFalse(f.ok());
        assertTrue(f.reason().contains("g_idx"), f.reason());
    }

    @Test
    void quantizedWeightIsNeverReadAsBytes() {
        TestGraph t = new TestGraph(6);
        Value x = t.input("x", DataType.FLOAT, 1, LD);
        List<Value> in = new ArrayList<>();
        matMulNBits(t, "w", LD, LD, 4, 32, false, in);
        LinearLayer l = LinearLayer.of(nbitsNode(t, x, in, LD, LD, 4, 32)).value();
        assertTrue(l.weight().storedIsMath(), "MatMulNBits stores W [N, K]");
        try {
            l.weight().tensor().read();
            throw new AssertionError("read() must refuse");
        } catch (UnsupportedOperationException expected) {
            assertTrue(expected.getMessage().contains("dequantized on the fly"));
        }
    }
}
