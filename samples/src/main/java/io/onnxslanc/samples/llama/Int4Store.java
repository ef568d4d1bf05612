package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Writes the linear weights of a synthetic Llama as com.microsoft MatMulNBits weights (4 bits, block 32, asymmetric
 * with packed uint8 zero points, round to nearest) while they stream out of the generator, one tensor at a time, so
 * a 7B-shaped int4 model is written without its 27 GB float32 form. {@link #finish} turns the MatMuls reading those
 * weights into MatMulNBits nodes. The layout follows ONNX Runtime's contrib-op spec: B [N, K/32, 16] uint8, element
 * 2j of a block in the low nibble of byte j; scales [N * K/32] float; zero points [N * ceil(K/32 / 2)] uint8.
 */
final class Int4Store implements InitializerStore {
    static final int BLOCK = 32;
    private static final Pattern LINEAR = Pattern.compile("layers\\.\\d+\\.(attention\\.w[qkvo]|feed_forward\\.w[123])\\.weight|output\\.weight");

    private final ExternalDataWriter data;
    private final Map<String, long[]> quantized = new LinkedHashMap<>(); // name -> {K, N}
    private final Map<String, TensorProto> extra = new LinkedHashMap<>();

    Int4Store(InitializerStore data) {
        if (!(data instanceof ExternalDataWriter w)) {
            throw new IllegalArgumentException("int4 weights are written with external data only");
        }
        this.data = w;
    }

    @Override
    public TensorProto add(String name, TensorValues values) throws IOException {
        long[] dims = values.dims();
        if (!LINEAR.matcher(name).matches() || dims.length != 2) {
            return data.add(name, values);
        }
        int k = Math.toIntExact(dims[0]);
        int n = Math.toIntExact(dims[1]);
        float[] w = new float[Math.multiplyExact(k, n)];
        int[] at = {0};
        values.writeTo(chunk -> {
            int len = chunk.remaining();
            chunk.get(w, at[0], len);
            at[0] += len;
        });
        int blocks = (k + BLOCK - 1) / BLOCK;
        int zpRow = (blocks + 1) / 2;
        ByteBuffer packed = ByteBuffer.allocate(Math.multiplyExact(n, blocks * BLOCK / 2));
        ByteBuffer scales = ByteBuffer.allocate(n * blocks * 4).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer zps = ByteBuffer.allocate(n * zpRow);
        float[] block = new float[BLOCK];
        for (int col = 0; col < n; col++) {
            for (int b = 0; b < blocks; b++) {
                int k0 = b * BLOCK;
                int len = Math.min(BLOCK, k - k0);
                float min = 0;
                float max = 0;
                for (int i = 0; i < len; i++) {
                    block[i] = w[(k0 + i) * n + col];
                    min = Math.min(min, block[i]);
                    max = Math.max(max, block[i]);
                }
                float scale = max == min ? 1f : (max - min) / 15f;
                int zp = Math.max(0, Math.min(15, Math.round(-min / scale)));
                scales.putFloat((col * blocks + b) * 4, scale);
                int zpAt = col * zpRow + b / 2;
                zps.put(zpAt, (byte) (zps.get(zpAt) | zp << (b % 2 == 0 ? 0 : 4)));
                int base = (col * blocks + b) * (BLOCK / 2);
                for (int i = 0; i < BLOCK; i++) {
                    int q = i < len ? Math.max(0, Math.min(15, Math.round(block[i] / scale) + zp)) : zp;
                    int byteAt = base + i / 2;
                    packed.put(byteAt, (byte) (packed.get(byteAt) | q << (i % 2 == 0 ? 0 : 4)));
                }
            }
        }
        quantized.put(name, new long[] {k, n});
        extra.put(name + "_scales", data.addBytes(name + "_scales", TensorProto.DataType.FLOAT_VALUE,
                new long[] {(long) n * blocks}, scales.rewind()));
        extra.put(name + "_zero_points", data.addBytes(name + "_zero_points", TensorProto.DataType.UINT8_VALUE,
                new long[] {(long) n * zpRow}, zps.rewind()));
        return data.addBytes(name, TensorProto.DataType.UINT8_VALUE, new long[] {n, blocks, BLOCK / 2}, packed.rewind());
    }

    /** The model with every MatMul on a quantized weight replaced by MatMulNBits, and the scale / zero point tensors. */
    ModelProto finish(ModelProto model) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto node = g.getNode(i);
            if (!node.getOpType().equals("MatMul") || !quantized.containsKey(node.getInput(1))) {
                continue;
            }
            String w = node.getInput(1);
            long[] kn = quantized.get(w);
            g.setNode(i, node.toBuilder().setOpType("MatMulNBits").setDomain("com.microsoft")
                    .addInput(w + "_scales").addInput(w + "_zero_points")
                    .addAttribute(intAttr("K", kn[0])).addAttribute(intAttr("N", kn[1]))
                    .addAttribute(intAttr("bits", 4)).addAttribute(intAttr("block_size", BLOCK)).build());
        }
        extra.values().forEach(g::addInitializer);
        ModelProto.Builder m = model.toBuilder().setGraph(g);
        if (model.getOpsetImportList().stream().noneMatch(o -> o.getDomain().equals("com.microsoft"))) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1));
        }
        return m.build();
    }

    private static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

}
