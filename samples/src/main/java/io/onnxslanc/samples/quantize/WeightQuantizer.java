package io.onnxslanc.samples.quantize;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A small weight quantizer for test models (not a production tool): every MatMul x B with a constant FLOAT
 * [K, N] weight gets its weight quantized by round-to-nearest in one of the {@link QuantFormat}s and written as
 * com.microsoft MatMulNBits (per the ONNX Runtime contrib-op spec: B [N, K/32, 16] uint8, low nibble first, scales
 * [N * K/32], zero points packed per row) or as DequantizeLinear(int) -> MatMul (per the ONNX spec, int4 packed
 * low nibble first). With {@code dequantizedFloat} the same quantized values are written back as plain FLOAT
 * weights instead, (q - zp) * scale: the reference model whose outputs ONNX Runtime's quantized kernels must match.
 */
public final class WeightQuantizer {
    private static final String MS = "com.microsoft";

    private WeightQuantizer() {
    }

    /** Quantizes {@code m} in place; returns the names of the quantized weights. */
    public static List<String> quantize(Model m, QuantFormat format, boolean dequantizedFloat) {
        Graph g = m.graph();
        List<String> done = new ArrayList<>();
        if (format.needsOpset21() && !dequantizedFloat) {
            OpsetUpgrade.to21(m);
        }
        if (format.nBits()) {
            m.opsets().putIfAbsent(MS, 1L);
        }
        if (format == QuantFormat.DQ_INT8_PER_CHANNEL && !dequantizedFloat && m.opset("") < 13) {
            throw new IllegalArgumentException("per-axis DequantizeLinear needs opset 13; the model has opset " + m.opset(""));
        }
        for (Node mm : new ArrayList<>(g.nodes())) {
            if (!mm.is("MatMul") || mm.input(0) == null || Constants.tensor(mm.input(0)) != null) {
                continue;
            }
            Value bValue = mm.input(1);
            Tensor b = Constants.tensor(bValue);
            if (b == null || b.dataType() != DataType.FLOAT || b.dims().length != 2 || !bValue.isInitializer()) {
                continue;
            }
            int k = (int) b.dims()[0];
            int n = (int) b.dims()[1];
            float[] w = floats(b);
            Quantized q = quantizeColumns(w, k, n, format);
            if (dequantizedFloat) {
                bValue.setConstant(ArrayTensor.ofFloats(new long[] {k, n}, q.dequantized));
            } else if (format.nBits()) {
                writeNBits(g, mm, q, k, n, format);
            } else {
                writeDequantizeLinear(g, mm, q, k, n, format);
            }
            done.add(bValue.name());
        }
        g.cleanup();
        g.toposort();
        return done;
    }

    /** Per column n of B (one output feature), the quantized blocks along K (or one block of all K). */
    private record Quantized(BlockQuant[][] blocks, float[] dequantized) {
    }

    private static Quantized quantizeColumns(float[] w, int k, int n, QuantFormat f) {
        int block = f == QuantFormat.DQ_INT8_PER_CHANNEL ? k : QuantFormat.BLOCK;
        int blocks = (k + block - 1) / block;
        BlockQuant[][] out = new BlockQuant[n][blocks];
        float[] deq = new float[k * n];
        for (int col = 0; col < n; col++) {
            for (int b = 0; b < blocks; b++) {
                int k0 = b * block;
                int k1 = Math.min(k, k0 + block);
                float[] v = new float[k1 - k0];
                for (int i = k0; i < k1; i++) {
                    v[i - k0] = w[i * n + col];
                }
                BlockQuant q = switch (f) {
                    case NBITS4_ZP, DQ_UINT4_BLOCKED_ZP -> BlockQuant.asymmetric(v, 0, 15);
                    case NBITS4_SYM -> BlockQuant.symmetric(v, 0, 15, 8);
                    case NBITS8_ZP -> BlockQuant.asymmetric(v, 0, 255);
                    case DQ_INT8_PER_CHANNEL -> BlockQuant.symmetric(v, -128, 127, 0);
                    case DQ_INT4_BLOCKED -> BlockQuant.symmetric(v, -8, 7, 0);
                };
                out[col][b] = q;
                for (int i = k0; i < k1; i++) {
                    deq[i * n + col] = q.dequantized(i - k0);
                }
            }
        }
        return new Quantized(out, deq);
    }

    private static void writeNBits(Graph g, Node mm, Quantized q, int k, int n, QuantFormat f) {
        int bits = f == QuantFormat.NBITS8_ZP ? 8 : 4;
        int block = QuantFormat.BLOCK;
        int blocks = (k + block - 1) / block;
        int blob = block * bits / 8;
        ByteBuffer packed = ByteBuffer.allocate(n * blocks * blob);
        float[] scales = new float[n * blocks];
        int zpRow = (blocks * bits + 7) / 8;
        ByteBuffer zps = ByteBuffer.allocate(n * zpRow);
        for (int col = 0; col < n; col++) {
            for (int b = 0; b < blocks; b++) {
                BlockQuant bq = q.blocks[col][b];
                scales[col * blocks + b] = bq.scale();
                int base = (col * blocks + b) * blob;
                for (int i = 0; i < block; i++) {
                    int v = i < bq.q().length ? bq.q()[i] : bq.zeroPoint(); // padding past K dequantizes to 0
                    put(packed, base, i, v, bits);
                }
                put(zps, col * zpRow, b, bq.zeroPoint(), bits);
            }
        }
        String base = mm.input(1).name();
        List<Value> inputs = new ArrayList<>(List.of(mm.input(0),
                g.addInitializer(g.uniqueName(base + "_q" + bits), new ArrayTensor(DataType.UINT8, new long[] {n, blocks, blob}, packed.rewind())),
                g.addInitializer(g.uniqueName(base + "_scales"), ArrayTensor.ofFloats(new long[] {(long) n * blocks}, scales))));
        if (f != QuantFormat.NBITS4_SYM) {
            inputs.add(g.addInitializer(g.uniqueName(base + "_zero_points"), new ArrayTensor(DataType.UINT8, new long[] {(long) n * zpRow}, zps.rewind())));
        }
        Node nb = g.addNodeBefore(mm, "MatMulNBits", MS, g.uniqueName(mm.name() + "_nbits"), inputs, List.of(g.uniqueName(mm.output(0).name() + "_q")));
        nb.setAttribute(Attribute.ofInt("K", k));
        nb.setAttribute(Attribute.ofInt("N", n));
        nb.setAttribute(Attribute.ofInt("bits", bits));
        nb.setAttribute(Attribute.ofInt("block_size", block));
        replace(g, mm, nb);
    }

    private static void writeDequantizeLinear(Graph g, Node mm, Quantized q, int k, int n, QuantFormat f) {
        boolean perChannel = f == QuantFormat.DQ_INT8_PER_CHANNEL;
        DataType type = switch (f) {
            case DQ_INT8_PER_CHANNEL -> DataType.INT8;
            case DQ_INT4_BLOCKED -> DataType.INT4;
            default -> DataType.UINT4;
        };
        int bits = type.bits();
        int blocks = q.blocks[0].length;
        ByteBuffer data = ByteBuffer.allocate((int) type.byteSize((long) k * n));
        float[] scales = new float[blocks * n];
        ByteBuffer zps = ByteBuffer.allocate((int) type.byteSize((long) blocks * n));
        int block = perChannel ? k : QuantFormat.BLOCK;
        for (int col = 0; col < n; col++) {
            for (int b = 0; b < blocks; b++) {
                BlockQuant bq = q.blocks[col][b];
                scales[b * n + col] = bq.scale(); // layout [K / block, N]
                put(zps, 0, b * n + col, bq.zeroPoint(), bits);
                for (int i = 0; i < bq.q().length; i++) {
                    put(data, 0, (b * block + i) * n + col, bq.q()[i], bits);
                }
            }
        }
        String base = mm.input(1).name();
        Value x = g.addInitializer(g.uniqueName(base + "_" + type.name().toLowerCase()), new ArrayTensor(type, new long[] {k, n}, data.rewind()));
        long[] sDims = perChannel ? new long[] {n} : new long[] {blocks, n};
        List<Value> inputs = new ArrayList<>(List.of(x, g.addInitializer(g.uniqueName(base + "_scale"), ArrayTensor.ofFloats(sDims, scales))));
        if (f == QuantFormat.DQ_UINT4_BLOCKED_ZP) {
            inputs.add(g.addInitializer(g.uniqueName(base + "_zero_point"), new ArrayTensor(type, sDims, zps.rewind())));
        }
        Node dq = g.addNodeBefore(mm, "DequantizeLinear", "", g.uniqueName(base + "_dq"), inputs, List.of(g.uniqueName(base + "_dequantized")));
        dq.setAttribute(Attribute.ofInt("axis", perChannel ? 1 : 0));
        if (!perChannel) {
            dq.setAttribute(Attribute.ofInt("block_size", QuantFormat.BLOCK));
        }
        mm.setInput(1, dq.output(0));
    }

    /** Writes value {@code v} as element {@code i} of a packed array at byte offset {@code base} (4 bits: low nibble first). */
    private static void put(ByteBuffer b, int base, int i, int v, int bits) {
        if (bits == 8) {
            b.put(base + i, (byte) v);
            return;
        }
        int at = base + i / 2;
        int old = b.get(at) & 0xff;
        int nib = v & 0x0f;
        b.put(at, (byte) (i % 2 == 0 ? (old & 0xf0) | nib : (old & 0x0f) | (nib << 4)));
    }

    private static void replace(Graph g, Node old, Node replacement) {
        Value out = old.output(0);
        String name = out.name();
        out.replaceAllUsesWith(replacement.output(0));
        g.removeNode(old);
        replacement.output(0).rename(name);
    }

    private static float[] floats(Tensor t) {
        ByteBuffer b = t.read().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[Math.toIntExact(t.elementCount())];
        b.asFloatBuffer().get(out);
        return out;
    }
}
