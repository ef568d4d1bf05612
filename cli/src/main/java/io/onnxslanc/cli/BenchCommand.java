package io.onnxslanc.cli;

import io.onnxslanc.samples.bench.IoBenchmark;
import io.onnxslanc.samples.bench.PipelineBenchmark;
import io.onnxslanc.samples.bench.RunKernelBenchmark;
import io.onnxslanc.samples.bench.SlancMathBenchmark;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Benchmarks that print tables; speed and memory are measured here, never in unit tests. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: io, pipeline, kernel, slanc-math (each prints a table).",
        subcommands = {BenchCommand.Io.class, BenchCommand.Pipeline.class, BenchCommand.Kernel.class, BenchCommand.Math.class})
final class BenchCommand {

    @Command(name = "io", mixinStandardHelpOptions = true,
            description = "Read + write of a synthetic multi-GB external-data model through the IR vs a plain file "
                    + "copy of the same bytes, in the same run, with peak RSS.")
    static final class Io implements Callable<Integer> {
        @Option(names = "--gb", defaultValue = "3", description = "model size in GiB")
        long gb;

        @Option(names = "--dir", defaultValue = "bench-io", description = "scratch folder (deleted files afterwards)")
        Path dir;

        @Option(names = "--rounds", defaultValue = "2")
        int rounds;

        @Override
        public Integer call() throws Exception {
            IoBenchmark.run(dir, gb << 30, rounds, System.out);
            return 0;
        }
    }

    @Command(name = "pipeline", mixinStandardHelpOptions = true,
            description = "On a big model (e.g. `synth llama2-7b.onnx --preset llama2-7b`): SLaNC calibration time, and "
                    + "SLaNC + FP16 + write next to a plain read + write of the same files, with peak RSS.")
    static final class Pipeline implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "MODEL")
        Path model;

        @Option(names = "--dir", defaultValue = "bench-pipeline", description = "scratch folder")
        Path dir;

        @Option(names = "--calibrate-only", description = "only the SLaNC calibration row")
        boolean calibrateOnly;

        @Override
        public Integer call() throws Exception {
            if (calibrateOnly) {
                PipelineBenchmark.Row r = PipelineBenchmark.calibrate(model);
                System.out.printf("%-50s %9.1f s, peak RSS %d MiB, %s%n", r.what(), r.seconds(), r.peakRss() >> 20, r.note());
                return 0;
            }
            PipelineBenchmark.run(model, dir, System.out);
            return 0;
        }
    }

    @Command(name = "kernel", mixinStandardHelpOptions = true, description = "JMH: FP16/BF16 conversion kernel, GB/s per core.")
    static final class Kernel implements Callable<Integer> {
        @Parameters(index = "0", arity = "0..1", defaultValue = ".*", paramLabel = "REGEX")
        String methods;

        @Override
        public Integer call() throws Exception {
            RunKernelBenchmark.main(new String[] {methods});
            return 0;
        }
    }

    @Command(name = "slanc-math", mixinStandardHelpOptions = true,
            description = "SLaNC scale kernels on Llama-2-7B layer shapes: exact vs estimated, seconds per layer.")
    static final class Math implements Callable<Integer> {
        @Option(names = "--threads", defaultValue = "2")
        int threads;

        @Option(names = "--layers", defaultValue = "3")
        int layers;

        @Override
        public Integer call() {
            SlancMathBenchmark.main(new String[] {Integer.toString(threads), Integer.toString(layers)});
            return 0;
        }
    }
}
