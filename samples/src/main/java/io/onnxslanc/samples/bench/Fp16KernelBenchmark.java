package io.onnxslanc.samples.bench;

import ai.onnxruntime.platform.Fp16Conversions;
import io.onnxslanc.convert.ClampStats;
import io.onnxslanc.convert.Fp16Clamp;
import io.onnxslanc.convert.TensorConverter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Float32 -> FP16 / BF16 conversion of one little-endian tensor, single thread: our
 * {@link TensorConverter} against a loop over ONNX Runtime's {@link Fp16Conversions} on the same
 * FloatBuffer / ShortBuffer views (ORT's own buffer methods allocate a direct buffer per call).
 * One operation converts {@link #ELEMENTS} floats; {@link RunKernelBenchmark} turns ops/s into GB/s
 * of float32 input.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class Fp16KernelBenchmark {

    /** 4 MiB of float32: beyond L2, inside L3, like one mid-sized weight tensor streamed in chunks. */
    public static final int ELEMENTS = 1 << 20;

    /** heap: ByteBuffer.allocate; direct: ByteBuffer.allocateDirect (what a mapped file gives). */
    @Param({"heap", "direct"})
    public String buffer;

    /**
     * weights: N(0, 0.02) with rare outliers and exact zeros (the common case, branches predictable);
     * bits: uniformly random bit patterns (worst case: NaN, inf, huge and tiny values all mixed).
     */
    @Param({"weights", "bits"})
    public String data;

    private ByteBuffer src;
    private ByteBuffer dst;

    @Setup(Level.Trial)
    public void setUp() {
        boolean direct = buffer.equals("direct");
        src = (direct ? ByteBuffer.allocateDirect(4 * ELEMENTS) : ByteBuffer.allocate(4 * ELEMENTS))
                .order(ByteOrder.LITTLE_ENDIAN);
        dst = direct ? ByteBuffer.allocateDirect(2 * ELEMENTS) : ByteBuffer.allocate(2 * ELEMENTS);
        SplittableRandom random = new SplittableRandom(1234L);
        for (int i = 0; i < ELEMENTS; i++) {
            int bits;
            if (data.equals("bits")) {
                bits = random.nextInt();
            } else {
                int kind = random.nextInt(1000);
                float x = kind == 0 ? 0f : (float) (random.nextGaussian() * (kind == 1 ? 100.0 : 0.02));
                bits = Float.floatToRawIntBits(x);
            }
            src.putInt(4 * i, bits);
        }
    }

    @Benchmark
    public ClampStats oursFp16() {
        return TensorConverter.convertFloatToHalf(src.duplicate(), dst.duplicate(), Fp16Clamp.DEFAULT);
    }

    @Benchmark
    public ByteBuffer oursBf16() {
        ByteBuffer out = dst.duplicate();
        TensorConverter.convertFloatToBFloat16(src.duplicate(), out);
        return out;
    }

    @Benchmark
    public ShortBuffer ortFp16Loop() {
        FloatBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        ShortBuffer out = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        int n = in.remaining();
        for (int i = 0; i < n; i++) {
            out.put(i, Fp16Conversions.floatToFp16(in.get(i)));
        }
        return out;
    }

    @Benchmark
    public ShortBuffer ortBf16Loop() {
        FloatBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        ShortBuffer out = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        int n = in.remaining();
        for (int i = 0; i < n; i++) {
            out.put(i, Fp16Conversions.floatToBf16(in.get(i)));
        }
        return out;
    }
}
