package io.onnxslanc.check.model;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.platform.Fp16Conversions;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;

/**
 * A runtime-neutral tensor: a shape and either integer (longs) or real (floats) values, row-major.
 * Inputs are converted to whatever element type the session expects (e.g. FP16 inputs of an FP16 model);
 * outputs of any float type come back as float.
 */
public record TensorData(long[] shape, long[] longs, float[] floats) {

    public TensorData {
        if ((longs == null) == (floats == null)) throw new IllegalArgumentException("a tensor holds either longs or floats");
        long n = elementCount(shape);
        int len = longs != null ? longs.length : floats.length;
        if (n != len) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + len);
    }

    public static TensorData ofLongs(long[] shape, long[] values) {
        return new TensorData(shape.clone(), values, null);
    }

    public static TensorData ofFloats(long[] shape, float[] values) {
        return new TensorData(shape.clone(), null, values);
    }

    public boolean isFloat() {
        return floats != null;
    }

    public int size() {
        return isFloat() ? floats.length : longs.length;
    }

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** An ORT tensor of the element type the session declares for this input. */
    public OnnxTensor toOnnx(OrtEnvironment env, String name, TensorInfo expected) throws OrtException {
        int n = size();
        switch (expected.type) {
            case FLOAT -> { return OnnxTensor.createTensor(env, FloatBuffer.wrap(asFloats()), shape); }
            case DOUBLE -> {
                double[] d = new double[n];
                float[] f = asFloats();
                for (int i = 0; i < n; i++) d[i] = f[i];
                return OnnxTensor.createTensor(env, DoubleBuffer.wrap(d), shape);
            }
            case FLOAT16, BFLOAT16 -> {
                boolean half = expected.type == OnnxJavaType.FLOAT16;
                short[] s = new short[n];
                float[] f = asFloats();
                for (int i = 0; i < n; i++) s[i] = half ? Fp16Conversions.floatToFp16(f[i]) : Fp16Conversions.floatToBf16(f[i]);
                return OnnxTensor.createTensor(env, ShortBuffer.wrap(s), shape, expected.type);
            }
            case INT64 -> { return OnnxTensor.createTensor(env, LongBuffer.wrap(asLongs(name)), shape); }
            case INT32 -> {
                long[] l = asLongs(name);
                int[] i32 = new int[n];
                for (int i = 0; i < n; i++) i32[i] = Math.toIntExact(l[i]);
                return OnnxTensor.createTensor(env, IntBuffer.wrap(i32), shape);
            }
            case BOOL, INT8, UINT8 -> {
                long[] l = asLongs(name);
                ByteBuffer b = ByteBuffer.allocateDirect(n).order(ByteOrder.nativeOrder());
                for (long v : l) b.put((byte) v);
                b.rewind();
                return OnnxTensor.createTensor(env, b, shape, expected.type);
            }
            default -> throw new IllegalArgumentException("input '" + name + "': element type " + expected.type + " is not supported");
        }
    }

    /** Any numeric ORT tensor; float types become floats, integer and bool types longs. */
    public static TensorData fromOnnx(OnnxTensor t) {
        TensorInfo info = t.getInfo();
        long[] shape = info.getShape();
        int n = (int) elementCount(shape);
        switch (info.type) {
            case FLOAT -> {
                float[] f = new float[n];
                t.getFloatBuffer().get(f);
                return ofFloats(shape, f);
            }
            case FLOAT16, BFLOAT16 -> {
                ShortBuffer s = t.getShortBuffer();
                float[] f = new float[n];
                boolean half = info.type == OnnxJavaType.FLOAT16;
                for (int i = 0; i < n; i++) f[i] = half ? Fp16Conversions.fp16ToFloat(s.get(i)) : Fp16Conversions.bf16ToFloat(s.get(i));
                return ofFloats(shape, f);
            }
            case DOUBLE -> {
                DoubleBuffer d = t.getDoubleBuffer();
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = (float) d.get(i);
                return ofFloats(shape, f);
            }
            case INT64 -> {
                long[] l = new long[n];
                t.getLongBuffer().get(l);
                return ofLongs(shape, l);
            }
            case INT32 -> {
                IntBuffer ib = t.getIntBuffer();
                long[] l = new long[n];
                for (int i = 0; i < n; i++) l[i] = ib.get(i);
                return ofLongs(shape, l);
            }
            case BOOL, INT8, UINT8 -> {
                ByteBuffer b = t.getByteBuffer();
                long[] l = new long[n];
                for (int i = 0; i < n; i++) l[i] = info.type == OnnxJavaType.UINT8 ? (b.get(i) & 0xff) : b.get(i);
                return ofLongs(shape, l);
            }
            default -> throw new IllegalArgumentException("output element type " + info.type + " is not supported");
        }
    }

    private float[] asFloats() {
        if (floats != null) return floats;
        float[] f = new float[longs.length];
        for (int i = 0; i < f.length; i++) f[i] = longs[i];
        return f;
    }

    private long[] asLongs(String name) {
        if (longs == null) throw new IllegalArgumentException("input '" + name + "' expects integers, got float values");
        return longs;
    }

    @Override
    public String toString() {
        return (isFloat() ? "float" : "long") + Arrays.toString(shape);
    }
}
