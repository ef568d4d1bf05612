package io.onnxslanc.samples.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link Fp16KernelBenchmark} with short settings (1 fork, 3 warm-up and 5 measured
 * iterations of 1 s) and prints GB/s of float32 input per core. Optional argument: a regular
 * expression selecting benchmark methods, e.g. {@code "oursFp16|ortFp16Loop"}.
 */
public final class RunKernelBenchmark {

    private RunKernelBenchmark() {
    }

    public static void main(String[] args) throws RunnerException {
        String methods = args.length > 0 ? args[0] : ".*";
        Options options = new OptionsBuilder()
                .include(Fp16KernelBenchmark.class.getName() + "\\.(" + methods + ")$")
                .forks(1)
                .warmupIterations(3)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(5)
                .measurementTime(TimeValue.seconds(1))
                .threads(1)
                .build();
        Collection<RunResult> results = new Runner(options).run();
        System.out.println();
        System.out.printf("Float32 -> 16-bit conversion, %d elements per op, 1 thread, %s %s%n",
                Fp16KernelBenchmark.ELEMENTS, System.getProperty("java.vm.name"), System.getProperty("java.version"));
        System.out.printf("%-12s %-7s %-8s %10s %10s%n", "benchmark", "buffer", "data", "GB/s", "+- GB/s");
        List<RunResult> sorted = new ArrayList<>(results);
        sorted.sort(Comparator.comparing((RunResult r) -> r.getParams().getParam("data"))
                .thenComparing(r -> r.getParams().getParam("buffer"))
                .thenComparing(r -> r.getParams().getBenchmark()));
        double bytesPerOp = 4.0 * Fp16KernelBenchmark.ELEMENTS;
        for (RunResult result : sorted) {
            String name = result.getParams().getBenchmark();
            double opsPerSecond = result.getPrimaryResult().getScore();
            double error = result.getPrimaryResult().getScoreError();
            System.out.printf("%-12s %-7s %-8s %10.2f %10.2f%n", name.substring(name.lastIndexOf('.') + 1),
                    result.getParams().getParam("buffer"), result.getParams().getParam("data"),
                    opsPerSecond * bytesPerOp / 1e9, Double.isNaN(error) ? 0 : error * bytesPerOp / 1e9);
        }
    }
}
