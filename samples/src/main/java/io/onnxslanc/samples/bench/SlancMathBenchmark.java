package io.onnxslanc.samples.bench;

import io.onnxslanc.calibrate.math.MatrixView;
import io.onnxslanc.calibrate.math.ScaleResult;
import io.onnxslanc.calibrate.math.SlancScales;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Timing of the SLaNC scale computation on Llama-shaped layers held in direct (mapped-like) ByteBuffers.
 *
 * <p>Part 1, d = 1024 (a Llama-2-7B layer scaled down 4x): exact against estimated, with the reported standard
 * error. Part 2, d = 4096, d_ff = 11008, 32 heads (Llama-2-7B): default options (estimate mode), per layer and
 * projected to 32 layers. Usage: {@code SlancMathBenchmark [threads=2] [layers7b=3] [exact7b=false]}.
 * Weights are random (uniform, std 0.02, like trained projections), gains near 1 with a few outlier channels.
 */
public final class SlancMathBenchmark {

    private static final String ROW = "%-10s %-28s %-9s %8s %8s %12s %10s %8s %6s%n";
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private SlancMathBenchmark() {
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int layers7b = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        boolean exact7b = args.length > 2 && Boolean.parseBoolean(args[2]);
        SlancScales.Options defaults = SlancScales.Options.defaults().withThreads(threads);
        System.out.printf(Locale.ROOT, "threads=%d, defaults: exactThreshold=%.1e MACs, probes=%d (max %d), target rel. std error=%.4f,"
                        + " power tol=%.0e, max Lanczos steps=%d%n", threads, defaults.exactThreshold(), defaults.probes(),
                defaults.maxProbes(), defaults.targetRelativeError(), defaults.powerTolerance(), defaults.powerMaxIterations());
        System.out.printf(Locale.ROOT, "load average at start: %.1f on %d processors (wall = elapsed; cpu = process CPU seconds, all threads)%n",
                OS.getSystemLoadAverage(), OS.getAvailableProcessors());
        System.out.printf(Locale.ROOT, ROW, "method", "shape", "mode", "wall s", "cpu s", "scale", "rel.diff", "std.err", "probes");

        SplittableRandom random = new SplittableRandom(2024);
        Layer small = Layer.random(random, 1024, 2752, 8, 8, MatrixView.ElementType.FLOAT32, new int[0], 1);
        Layer smallGqa = Layer.random(random, 1024, 2752, 8, 2, MatrixView.ElementType.FLOAT16, new int[0], 1);
        for (Layer layer : new Layer[] {small, smallGqa}) {
            compare("attention", layer.attentionShape(), defaults, o -> layer.attention(o));
            compare("gatedMlp", layer.mlpShape(), defaults, o -> layer.gatedMlp(o));
            compare("plainMlp", layer.plainShape(), defaults, o -> layer.plainMlp(o));
        }

        for (Variant variant : Variant.values()) {
            Layer big = Layer.random(random, 4096, 11008, 32, 32, variant.type, variant.massiveRows, variant.massiveScale);
            double wall = 0;
            double cpu = 0;
            ScaleResult mlp = null;
            for (int l = 0; l < layers7b; l++) {
                Timing read = readAll(big);
                Timing a = timed("attention", big.attentionShape(), () -> big.attention(defaults), Double.NaN);
                Timing m = timed("gatedMlp", big.mlpShape(), () -> big.gatedMlp(defaults), Double.NaN);
                mlp = m.result();
                if (l > 0 || layers7b == 1) { // the first layer includes JIT compilation
                    wall += read.wall() + a.wall() + m.wall();
                    cpu += read.cpu() + a.cpu() + m.cpu();
                }
            }
            int counted = Math.max(1, layers7b - 1);
            System.out.printf(Locale.ROOT, "7B layer %s (read pass + attention + gated MLP, mean of %d after warm-up): wall %.2f s, cpu %.2f s"
                            + " -> 32 layers: wall %.0f s here, %.0f s at cpu/%d (%d dedicated cores)%n",
                    variant.label(), counted, wall / counted, cpu / counted, 32 * wall / counted, 32 * cpu / counted / threads, threads, threads);
            // spectral factor against a converged one (same probes, so the ratio of the scales is the ratio of the sigmas)
            ScaleResult converged = timed("gatedMlp", big.mlpShape() + " tight",
                    () -> big.gatedMlp(defaults.withPowerTolerance(1e-10).withPowerMaxIterations(200)), Double.NaN).result();
            System.out.printf(Locale.ROOT, "  spectral factor with defaults vs converged: %+.2e (%d vs %d Lanczos steps)%n",
                    mlp.scale() / converged.scale() - 1, mlp.powerIterations(), converged.powerIterations());
            if (exact7b) {
                ScaleResult estimate = big.attention(defaults);
                ScaleResult exact = timed("attention", big.attentionShape(), () -> big.attention(defaults.alwaysExact()), Double.NaN).result();
                row("attention", big.attentionShape(), "estimate", Double.NaN, Double.NaN, estimate, exact.scale());
                ScaleResult exactMlp = timed("gatedMlp", big.mlpShape(), () -> big.gatedMlp(defaults.alwaysExact()), Double.NaN).result();
                row("gatedMlp", big.mlpShape(), "estimate", Double.NaN, Double.NaN, mlp, exactMlp.scale());
            }
        }
    }

    /**
     * The 7B layers timed: random weights in float16 and float32, and float16 with the massive-activation rows of
     * the synthetic llama2-7b preset (W_down output rows 1415 and 2533 x100, see samples.llama.SynthConfig).
     */
    private enum Variant {
        RANDOM_FP16(MatrixView.ElementType.FLOAT16, new int[0], 1),
        RANDOM_FP32(MatrixView.ElementType.FLOAT32, new int[0], 1),
        MASSIVE_FP16(MatrixView.ElementType.FLOAT16, new int[] {1415, 2533}, 100);

        final MatrixView.ElementType type;
        final int[] massiveRows;
        final double massiveScale;

        Variant(MatrixView.ElementType type, int[] massiveRows, double massiveScale) {
            this.type = type;
            this.massiveRows = massiveRows;
            this.massiveScale = massiveScale;
        }

        String label() {
            return type + (massiveRows.length > 0 ? " massive rows " + java.util.Arrays.toString(massiveRows) + " x" + (int) massiveScale : "");
        }
    }

    /** One sequential decoding pass over the layer's five weights: the floor for reading them (from memory here). */
    private static Timing readAll(Layer layer) {
        long cpu0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime();
        double checksum = 0;
        for (MatrixView w : new MatrixView[] {layer.wv(), layer.wo(), layer.gate(), layer.up(), layer.down()}) {
            MatrixView stored = w.transposed(); // storage order: contiguous rows
            double[] rows = new double[16 * stored.cols()];
            for (int r = 0; r < stored.rows(); r += 16) {
                int r1 = Math.min(stored.rows(), r + 16);
                stored.copyRows(r, r1, rows);
                checksum += rows[0];
            }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        double cpu = (OS.getProcessCpuTime() - cpu0) / 1e9;
        System.out.printf(Locale.ROOT, ROW, "read", layer.mlpShape(), "1 pass", String.format(Locale.ROOT, "%.2f", wall),
                String.format(Locale.ROOT, "%.2f", cpu), String.format(Locale.ROOT, "(%.3g)", checksum), "", "", "");
        return new Timing(null, wall, cpu);
    }

    private interface Calibration {
        ScaleResult run(SlancScales.Options options);
    }

    private static void compare(String method, String shape, SlancScales.Options defaults, Calibration calibration) {
        calibration.run(defaults.alwaysEstimate()); // JIT warm-up
        ScaleResult exact = timed(method, shape, () -> calibration.run(defaults.alwaysExact()), Double.NaN).result();
        timed(method, shape, () -> calibration.run(defaults.alwaysEstimate()), exact.scale());
    }

    private record Timing(ScaleResult result, double wall, double cpu) {
    }

    private static Timing timed(String method, String shape, Supplier<ScaleResult> calibration, double reference) {
        long cpu0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime();
        ScaleResult result = calibration.get();
        double wall = (System.nanoTime() - t0) / 1e9;
        double cpu = (OS.getProcessCpuTime() - cpu0) / 1e9;
        row(method, shape, result.estimated() ? "estimate" : "exact", wall, cpu, result, reference);
        return new Timing(result, wall, cpu);
    }

    private static void row(String method, String shape, String mode, double seconds, double cpu, ScaleResult r, double exact) {
        String diff = Double.isNaN(exact) ? "" : String.format(Locale.ROOT, "%+.2e", (r.scale() - exact) / exact);
        String error = r.estimated() ? String.format(Locale.ROOT, "%.4f", r.relativeStdError()) : "";
        String extra = r.powerIterations() > 0
                ? String.format(Locale.ROOT, "  (Lanczos: %d steps, residual %.1e)", r.powerIterations(), r.powerResidual()) : "";
        System.out.printf(Locale.ROOT, ROW.replace("%n", "") + "%s%n", method, shape, mode,
                Double.isNaN(seconds) ? "" : String.format(Locale.ROOT, "%.2f", seconds),
                Double.isNaN(cpu) ? "" : String.format(Locale.ROOT, "%.2f", cpu),
                String.format(Locale.ROOT, "%.6g", r.scale()), diff, error, r.probes() == 0 ? "" : Integer.toString(r.probes()), extra);
    }

    /** One decoder layer's weights, stored like an ONNX export: MatMul initializers B = W^T [in, out]. */
    private record Layer(int d, int dff, int heads, int kvHeads, MatrixView.ElementType type,
                         MatrixView wv, MatrixView wo, MatrixView gate, MatrixView up, MatrixView down,
                         double[] gammaAttention, double[] gammaMlp) {

        /** W_down's math rows {@code massiveRows} (output channels; stored columns) are scaled by massiveScale. */
        static Layer random(SplittableRandom random, int d, int dff, int heads, int kvHeads, MatrixView.ElementType type,
                            int[] massiveRows, double massiveScale) {
            int kvDim = d / heads * kvHeads;
            double[] outputScale = new double[d];
            java.util.Arrays.fill(outputScale, 1.0);
            for (int r : massiveRows) {
                outputScale[r] = massiveScale;
            }
            return new Layer(d, dff, heads, kvHeads, type,
                    weight(random, "v_proj", d, kvDim, type, null), weight(random, "o_proj", d, d, type, null),
                    weight(random, "gate_proj", d, dff, type, null), weight(random, "up_proj", d, dff, type, null),
                    weight(random, "down_proj", dff, d, type, outputScale), gamma(random, d), gamma(random, d));
        }

        String attentionShape() {
            return String.format(Locale.ROOT, "d=%d h=%d kv=%d %s", d, heads, kvHeads, type.name().toLowerCase(Locale.ROOT));
        }

        String mlpShape() {
            return String.format(Locale.ROOT, "d=%d d_ff=%d %s", d, dff, type.name().toLowerCase(Locale.ROOT));
        }

        String plainShape() {
            return mlpShape();
        }

        ScaleResult attention(SlancScales.Options o) {
            return SlancScales.attention(wv, wo, gammaAttention, heads, kvHeads, o);
        }

        ScaleResult gatedMlp(SlancScales.Options o) {
            return SlancScales.gatedMlp(gate, up, down, gammaMlp, o);
        }

        ScaleResult plainMlp(SlancScales.Options o) {
            return SlancScales.plainMlp(up, down, gammaAttention, o);
        }

        /** Stored [in, out] in a direct buffer, output channel c scaled by outputScale[c] (null: 1); returns the math-layout [out, in] view. */
        private static MatrixView weight(SplittableRandom random, String name, int in, int out, MatrixView.ElementType type,
                                         double[] outputScale) {
            int n = in * out;
            ByteBuffer buffer = ByteBuffer.allocateDirect(n * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
            double halfWidth = 0.02 * Math.sqrt(3); // uniform with std 0.02
            for (int i = 0; i < n; i++) {
                float v = (float) ((random.nextDouble() * 2 - 1) * halfWidth * (outputScale == null ? 1 : outputScale[i % out]));
                switch (type) {
                    case FLOAT32 -> buffer.putFloat(v);
                    case FLOAT16 -> buffer.putShort(toHalfTruncated(v));
                    case BFLOAT16 -> buffer.putShort((short) (Float.floatToIntBits(v) >>> 16));
                }
            }
            buffer.flip();
            return MatrixView.of(name, buffer, type, in, out).transposed();
        }

        private static double[] gamma(SplittableRandom random, int d) {
            double[] g = new double[d];
            for (int i = 0; i < d; i++) {
                g[i] = 0.5 + random.nextDouble();
                if (random.nextInt(200) == 0) {
                    g[i] *= 10; // a few outlier channels
                }
            }
            return g;
        }

        /** Good enough for benchmark data: normal halves by truncation, tiny values flushed to zero. */
        private static short toHalfTruncated(float v) {
            int bits = Float.floatToIntBits(v);
            int sign = (bits >>> 16) & 0x8000;
            int exponent = ((bits >>> 23) & 0xff) - 127 + 15;
            if (exponent <= 0) {
                return (short) sign;
            }
            return (short) (sign | (exponent << 10) | ((bits >>> 13) & 0x3ff));
        }
    }
}
