package io.onnxslanc.cli;

import io.onnxslanc.io.ModelFormatException;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.Progress;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.io.WriteTargets;
import io.onnxslanc.ir.Model;
import io.onnxslanc.SlancPipeline;
import io.onnxslanc.calibrate.CalibrationException;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Options;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code java -jar onnx-slanc.jar in.onnx out.onnx}: read, calibrate the norms, convert to FP16, write.
 * Exit codes: 0 ok, 1 failure, 2 usage error.
 */
@Command(name = "onnx-slanc", mixinStandardHelpOptions = true, version = "onnx-slanc 0.1.0",
        subcommands = {DemoCommand.class, EmbedCommand.class, CheckCommand.class, ProbeCommand.class, PerplexityCommand.class, ImportLlama2cCommand.class, SynthCommand.class, BenchCommand.class,
                AmplifyCommand.class, ExperimentCommand.class},
        sortOptions = false,
        description = "Makes an ONNX Transformer safe to run in FP16: SLaNC-calibrates every LayerNorm/RMSNorm, "
                + "converts to FP16, and reports what it did.")
public final class Main implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "IN", description = "input .onnx model (never modified)")
    Path input;

    @Parameters(index = "1", arity = "0..1", paramLabel = "OUT", description = "output .onnx model (written atomically)")
    Path output;

    @Option(names = "--external-data", description = "write the weights to OUT.data (default: only when over 2 GiB)")
    boolean externalData;

    @Option(names = "--inline", description = "write all weights inside OUT (fails over 2 GiB)")
    boolean inline;

    @Option(names = Failures.DEBUG, description = "print the stack trace of a failure (every command accepts it)")
    boolean debug;

    @Option(names = {"-q", "--quiet"}, description = "no progress bars")
    boolean quiet;

    @Option(names = "--no-slanc", description = "skip the SLaNC calibration (FP16 conversion only)")
    boolean noSlanc;

    @Option(names = "--no-pow2", description = "use s as computed instead of rounding it to a power of two")
    boolean noPowerOfTwo;

    @Option(names = "--first-norm-from-embedding",
            description = "scale the first norm by the largest embedding row norm that can reach it (static, like every "
                    + "SLaNC scale) instead of the paper's s = 1; for models whose embedding output is itself large")
    boolean firstNormFromEmbedding;

    @Option(names = "--exact-threshold", paramLabel = "MACS",
            description = "products costing more multiply-adds than this are estimated by seeded random probing "
                    + "(the report gives the relative standard error); default as in the library")
    Double exactThreshold;

    @Option(names = "--no-fp16", description = "leave the model in FP32 (calibration only)")
    boolean noFp16;

    @Option(names = "--target", defaultValue = "float16", paramLabel = "TYPE",
            description = "conversion target: float16 (default) or bfloat16")
    String target;

    @Option(names = "--keep-io-types", arity = "0..1", fallbackValue = "*", split = ",", paramLabel = "NAMES",
            description = "keep graph inputs/outputs in FP32 behind Casts: all of them, or the named ones")
    java.util.List<String> keepIoTypes;

    @Option(names = "--op-block-list", split = ",", paramLabel = "OPS",
            description = "op types that stay in FP32 behind Casts")
    java.util.List<String> opBlockList;

    @Option(names = "--node-block-list", split = ",", paramLabel = "NODES",
            description = "node names that stay in FP32 behind Casts")
    java.util.List<String> nodeBlockList;

    @Option(names = "--norms-fp32", description = "keep every norm in FP32 (the peers' way, for comparison with SLaNC)")
    boolean normsFp32;

    @Option(names = "--report", paramLabel = "FILE", description = "write the JSON report here")
    Path report;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line in-process (tests use this) and returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        // --debug is taken out before parsing, so that every command accepts it anywhere (see Failures)
        boolean debug = java.util.Arrays.asList(args).contains(Failures.DEBUG);
        String[] rest = java.util.Arrays.stream(args).filter(a -> !a.equals(Failures.DEBUG)).toArray(String[]::new);
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> Failures.report(ex, parsed, debug, err));
        int code;
        try {
            code = cl.execute(rest);
        } catch (Throwable t) { // Errors (heap, stack) pass picocli's handler: the same one line for them
            code = Failures.report(t, cl.getParseResult(), debug, err);
        }
        out.flush();
        err.flush();
        return code;
    }

    static String oneLine(Throwable ex) {
        return Failures.oneLine(ex);
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (input == null || output == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required parameters: IN OUT");
        }
        if (inline && externalData) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--inline and --external-data contradict each other; choose one");
        }
        checkPaths(input, output);
        if (report != null) {
            Reports.checkWritable(report); // before the model: a report that cannot be written must not leave one
        }
        Progress progress = TerminalProgress.create(quiet);
        Model model = ModelReader.read(input);
        WriteTargets.of(input, model).check(output, "output").check(WriteOptions.defaults().dataFile(output),
                "output's external data file").check(report, "report");
        out.println("read " + input);
        out.print(ModelSummary.describe(model));
        Reports json = new Reports();
        json.put("input", input.toString());
        json.put("output", output.toString());
        SlancOptions slanc = null;
        if (!noSlanc) {
            slanc = SlancOptions.defaults().withPowerOfTwo(!noPowerOfTwo).withProgress(progress)
                    .withFirstNormFromEmbedding(firstNormFromEmbedding);
            if (exactThreshold != null) {
                slanc = slanc.withExactThreshold(exactThreshold);
            }
        }
        WriteOptions options = WriteOptions.defaults().withProgress(progress)
                .withExternalData(externalData ? WriteOptions.ExternalData.EXTERNAL
                        : inline ? WriteOptions.ExternalData.INLINE : WriteOptions.ExternalData.AUTO);
        SlancPipeline.Result result;
        try {
            // with external data, the FP16 weights stream out while SLaNC computes (see SlancPipeline)
            result = SlancPipeline.run(model, input, output, slanc, noFp16 ? null : fp16Options(), options);
        } catch (CalibrationException e) {
            throw new CalibrationException(input + ": " + e.getMessage(), e); // the library names norm and weight
        } catch (IllegalArgumentException e) { // an option naming a node or input the model lacks
            throw new IllegalArgumentException(input + ": " + e.getMessage(), e);
        }
        CalibrationReport calibration = result.calibration();
        ConversionReport conversion = result.conversion();
        if (calibration != null) {
            out.print(calibration.toTable());
            json.mergeJson(calibration.toJson());
        }
        out.println("wrote " + output + (ModelWriter.writesExternalData(model, options)
                ? " (+ " + options.dataFile(output).getFileName() + (result.dataSpooled() ? ", streamed while SLaNC computed" : "") + ")" : ""));
        if (conversion != null) {
            out.print(conversion.toText()); // after writing: clamp counts are taken while the weights stream out
            json.putJson("fp16", conversion.toJson());
        }
        if (report != null) {
            try {
                json.write(report);
            } catch (RuntimeException e) { // all or nothing: no model without the report that was asked for
                deleteQuietly(output);
                if (ModelWriter.writesExternalData(model, options)) {
                    deleteQuietly(options.dataFile(output));
                }
                throw e;
            }
            out.println("report " + report);
        }
        return 0;
    }

    private Fp16Options fp16Options() {
        Fp16Options o = Fp16Options.defaults().withTarget(Fp16Options.parseTarget(target)).withNormsFp32(normsFp32);
        if (keepIoTypes != null) {
            o = keepIoTypes.contains("*") ? o.withKeepAllIoTypes(true) : o.withKeepIoNames(java.util.Set.copyOf(keepIoTypes));
        }
        if (opBlockList != null) {
            o = o.withOpBlockList(java.util.Set.copyOf(opBlockList));
        }
        if (nodeBlockList != null) {
            o = o.withNodeBlockList(java.util.Set.copyOf(nodeBlockList));
        }
        return o;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (java.io.IOException ignored) {
            // already failing with the report's error
        }
    }

    /** The input is never modified: refuse an output that is the input itself. */
    static void checkPaths(Path in, Path out) {
        if (!Files.exists(in)) {
            throw new ModelFormatException(in, "no such file");
        }
        Path a = in.toAbsolutePath().normalize();
        Path b = out.toAbsolutePath().normalize();
        try {
            if (a.equals(b) || (Files.exists(b) && Files.isSameFile(a, b))) {
                throw new ModelFormatException(out, "the output is the input file; the input is never overwritten");
            }
        } catch (java.io.IOException e) {
            throw new ModelFormatException(out, e.getMessage(), e);
        }
    }
}
