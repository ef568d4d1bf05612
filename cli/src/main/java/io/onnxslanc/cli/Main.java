package io.onnxslanc.cli;

import io.onnxslanc.io.ModelFormatException;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.Progress;
import io.onnxslanc.ReportJson;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.io.WriteTargets;
import io.onnxslanc.ir.Model;
import io.onnxslanc.SlancPipeline;
import io.onnxslanc.ToolInfo;
import io.onnxslanc.calibrate.CalibrationException;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.verify.Verdict;
import io.onnxslanc.check.fallback.Fp32Fallback;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.samples.amplify.ResidualRescale;
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
 * Exit codes: 0 ok, 1 error, 2 usage error, 3 a verdict failed (check's gates, --verify, --strict).
 */
@Command(name = "onnx-slanc", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:ok", "1:error: one line 'error: <file>: <problem>', no output file left behind",
                "2:usage error (unknown option, missing or malformed argument)",
                "3:a verdict failed: check's gates, --verify (OUT not written unless --keep-failed), --strict"},
        subcommands = {DemoCommand.class, FetchSamplesCommand.class, EmbedCommand.class, CheckCommand.class, ProbeCommand.class, PerplexityCommand.class, ImportLlama2cCommand.class, SynthCommand.class, BenchCommand.class,
                AmplifyCommand.class, ExperimentCommand.class, CompareCommand.class},
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

    @Option(names = {"-q", "--quiet"}, description = "no progress bars")
    boolean quiet;

    @Option(names = "--no-slanc", description = "skip the SLaNC calibration (FP16 conversion only)")
    boolean noSlanc;

    @Option(names = "--no-pow2", description = "use s as computed instead of rounding it to a power of two")
    boolean noPowerOfTwo;

    @Option(names = "--first-norm-unit",
            description = "give the first norm the paper's s = 1 instead of the default static scale from the embedding "
                    + "tables in front of it (the largest embedding row norm that can reach it)")
    boolean firstNormUnit;

    @Option(names = "--first-norm-from-embedding", hidden = true,
            description = "the default now; accepted so that existing scripts keep working")
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

    // a flag, so that "--keep-io-types IN OUT" keeps the paths; names only attached (=a,b) or by the option below
    @Option(names = "--keep-io-types", arity = "0", preprocessor = KeepIoTypesSpelling.class,
            description = "keep all graph inputs/outputs in FP32 behind Casts (--keep-io-types=a,b: only the named ones)")
    boolean keepAllIoTypes;

    @Option(names = "--keep-io-types-names", split = ",", paramLabel = "NAMES",
            description = "keep only these graph inputs/outputs in FP32 behind Casts")
    java.util.List<String> keepIoTypes;

    @Option(names = "--op-block-list", split = ",", paramLabel = "OPS",
            description = "op types that stay in FP32 behind Casts")
    java.util.List<String> opBlockList;

    @Option(names = "--node-block-list", split = ",", paramLabel = "NODES",
            description = "node names that stay in FP32 behind Casts")
    java.util.List<String> nodeBlockList;

    @Option(names = "--norms-fp32", description = "keep every norm in FP32 (the peers' way, for comparison with SLaNC)")
    boolean normsFp32;

    @Option(names = "--strict", description = "fail (exit 3, no output written) when a norm other than a first norm "
            + "stays unscaled, or when norm-like candidates exist but no norm matched")
    boolean strict;

    @Option(names = "--report", paramLabel = "FILE", description = "write the JSON report here")
    Path report;

    @Option(names = "--verify", description = "after writing OUT, check it against IN (parity on --text/--tokenizer lines "
            + "or generated inputs, also under --verify-emulate) and exit 3, writing nothing, when a threshold is missed")
    boolean verify;

    @Option(names = "--keep-failed", description = "with --verify: keep OUT even when it fails")
    boolean keepFailed;

    @Option(names = "--verify-emulate", defaultValue = "fp16-naive-norms", paramLabel = "MODE",
            description = "with --verify: also run OUT's FP32 graph under this FP16 emulation (default fp16-naive-norms, "
                    + "so FP16 overflow shows on a CPU; 'none' for the plain run only)")
    String verifyEmulate;

    @Option(names = "--fp32-fallback", paramLabel = "MODE", defaultValue = "off",
            description = "auto: measure every activation after SLaNC on the --text/--tokenizer lines or generated inputs; "
                    + "where one overflows FP16, first try an exact power-of-two rescale of the residual stream, then keep "
                    + "the nodes that still produce or read such values in FP32 behind Casts (listed in the report); off (default)")
    String fp32Fallback;

    @Option(names = "--fp32-fallback-margin", paramLabel = "X", defaultValue = "2",
            description = "a tensor counts as overflowing when max |x| * X >= 65504 (default 2: the samples do not show every peak)")
    double fp32FallbackMargin;

    @CommandLine.Mixin
    GateOptions gateOptions;

    @CommandLine.Mixin
    InputOptions inputOptions;

    @CommandLine.Mixin
    RuntimeOptions runtime;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * Every command takes --debug: the stack trace of a failure, and ONNX Runtime's own log lines (quiet otherwise).
     * {@link #run} reads it from the arguments before parsing; the option is here for the help text and parsers.
     */
    @Option(names = Failures.DEBUG, scope = CommandLine.ScopeType.INHERIT,
            description = "print the stack trace of a failure and ONNX Runtime's own log lines (warnings and errors)")
    void setDebug(boolean on) {
        io.onnxslanc.check.ep.OrtLogging.setVerbose(on);
    }

    /** {@code --version}: the POM's version, read from the jar (see {@link ToolInfo}). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {ToolInfo.NAME + " " + ToolInfo.version()};
        }
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line in-process (tests use this) and returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        // --debug is taken out before parsing, so that every command accepts it anywhere (see Failures)
        boolean debug = java.util.Arrays.asList(args).contains(Failures.DEBUG);
        String[] rest = java.util.Arrays.stream(args).filter(a -> !a.equals(Failures.DEBUG)).toArray(String[]::new);
        io.onnxslanc.check.ep.OrtLogging.setVerbose(debug); // ONNX Runtime's own log lines only with --debug
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
    public Integer call() throws java.io.IOException {
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
        Reports json = new Reports("convert");
        json.put("input", input.toString());
        json.put("output", output.toString());
        SlancOptions slanc = null;
        if (!noSlanc) {
            slanc = SlancOptions.defaults().withPowerOfTwo(!noPowerOfTwo).withProgress(progress)
                    .withFirstNormFromEmbedding(!firstNormUnit).withStrict(strict);
            if (exactThreshold != null) {
                slanc = slanc.withExactThreshold(exactThreshold);
            }
        }
        WriteOptions options = WriteOptions.defaults().withProgress(progress)
                .withExternalData(externalData ? WriteOptions.ExternalData.EXTERNAL
                        : inline ? WriteOptions.ExternalData.INLINE : WriteOptions.ExternalData.AUTO);
        Emulation.Mode emulation = !verify || verifyEmulate.equalsIgnoreCase("none") ? null : emulationMode(verifyEmulate);
        if (emulation == Emulation.Mode.FP16_NAIVE_NORMS && normsFp32) {
            emulation = Emulation.Mode.FP16_FP32_NORMS; // OUT computes its norms in FP32: emulate that, not naive norms
        }
        StagedOutput stage = verify ? StagedOutput.beside(output) : null;
        try {
            Path target = stage != null ? stage.model() : output;
            Path fp32Graph = null;
            CalibrationReport early = null;
            java.util.Set<String> fallbackNodes = java.util.Set.of();
            if (fallback()) {
                Fp32Fallback.Plan plan = Fp32Fallback.plan(input, slanc, inputOptions.build(ModelSource.parsed(input).proto()).feeds(),
                        runtime.factory(), Fp32Fallback.Options.defaults().withMargin(fp32FallbackMargin)
                                .withRescale(ResidualRescale.INSTANCE));
                model = plan.model(); // rescaled when that helped, calibrated, every node named
                early = plan.calibration();
                slanc = null;
                fallbackNodes = plan.report().nodeNames();
                out.print(plan.report().toText());
                json.putPojo("fp32_fallback", plan.report());
            }
            if (emulation != null && !noFp16) {
                // the emulation runs the FP32 graph OUT is converted from: calibrate first and keep a copy of it
                if (slanc != null) {
                    early = calibrate(model, slanc);
                }
                fp32Graph = stage.scratch("fp32-graph.onnx");
                ModelWriter.write(model, fp32Graph);
                slanc = null;
            }
            SlancPipeline.Result result;
            try {
                // with external data, the FP16 weights stream out while SLaNC computes (see SlancPipeline)
                result = SlancPipeline.run(model, input, target, slanc, noFp16 ? null : fp16Options(fallbackNodes), options);
            } catch (CalibrationException e) {
                throw new CalibrationException(input + ": " + e.getMessage(), e); // the library names norm and weight
            } catch (IllegalArgumentException e) { // an option naming a node or input the model lacks
                throw new IllegalArgumentException(input + ": " + e.getMessage(), e);
            }
            CalibrationReport calibration = early != null ? early : result.calibration();
            ConversionReport conversion = result.conversion();
            if (calibration != null) {
                out.print(calibration.toTable());
                out.println(calibration.summary());
                json.merge(ReportJson.calibration(calibration));
            }
            // the data file's real name: replacing an existing pair writes NAME.<digest>.data (a staged verify run
            // writes into a fresh folder and is published under the usual name)
            Path dataWritten = verify || result.dataFile() == null ? options.dataFile(output) : result.dataFile();
            boolean external = ModelWriter.writesExternalData(model, options);
            String written = output + (external
                    ? " (+ " + dataWritten.getFileName() + (result.dataSpooled() ? ", streamed while SLaNC computed" : "") + ")"
                    : result.dataSpooled() ? " (weights first, streamed while SLaNC computed)" : "");
            out.println((verify ? "wrote (for verification) " : "wrote ") + written);
            if (conversion != null) {
                out.print(conversion.toText()); // after writing: clamp counts are taken while the weights stream out
                json.put("fp16", ReportJson.conversion(conversion));
            }
            int code = 0;
            if (verify) {
                OutputVerifier.Outcome outcome = OutputVerifier.verify(input, target, output.toString(), fp32Graph,
                        fp32NodeNames(model, fallbackNodes), emulation, gateOptions.gates(), inputOptions, runtime.factory());
                for (Verdict v : outcome.verdicts()) {
                    out.print(Verdicts.describe(v));
                    out.println(v.line());
                }
                json.putPojo("verify", new VerifySection(outcome.passed(), outcome.verdicts()));
                if (outcome.passed() || keepFailed) {
                    stage.publish(output, options.dataFile(target), options.dataFile(output));
                    out.println("wrote " + written + (outcome.passed() ? ", verified" : ", kept although it failed (--keep-failed)"));
                } else {
                    out.println("not written: " + output + " failed verification (--keep-failed keeps it)");
                }
                code = outcome.passed() ? 0 : Verdicts.EXIT_FAILED;
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
            return code;
        } catch (io.onnxslanc.StrictCheckException e) {
            out.print(e.report().toTable()); // the table says which norms and why
            spec.commandLine().getErr().println("error: " + input + ": " + e.getMessage());
            return Verdicts.EXIT_FAILED;
        } finally {
            if (stage != null) {
                stage.close();
            }
        }
    }

    private CalibrationReport calibrate(Model model, SlancOptions slanc) {
        if (slanc == null) {
            return null;
        }
        try {
            return io.onnxslanc.Slanc.calibrate(model, slanc);
        } catch (CalibrationException e) {
            throw new CalibrationException(input + ": " + e.getMessage(), e);
        }
    }

    /** The nodes OUT keeps in FP32 that the emulation must leave unrounded (the block lists by name and op type). */
    private java.util.Set<String> fp32NodeNames(Model model, java.util.Set<String> fallbackNodes) {
        java.util.Set<String> names = new java.util.TreeSet<>(fallbackNodes);
        if (nodeBlockList != null) {
            names.addAll(nodeBlockList);
        }
        if (opBlockList != null) {
            model.graph().nodes().stream().filter(n -> opBlockList.contains(n.opType())).forEach(n -> names.add(n.name()));
        }
        return names;
    }

    /** The --report section of --verify: the overall result, then every verdict. */
    private record VerifySection(boolean passed, java.util.List<Verdict> verdicts) {
    }

    private Emulation.Mode emulationMode(String mode) {
        try {
            return Emulation.Mode.parse(mode);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--verify-emulate: " + e.getMessage());
        }
    }

    private boolean fallback() {
        return switch (fp32Fallback.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> true;
            case "off" -> false;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--fp32-fallback must be auto or off, got '" + fp32Fallback + "'");
        };
    }

    private Fp16Options fp16Options(java.util.Set<String> fallbackNodes) {
        Fp16Options o = Fp16Options.defaults().withTarget(Fp16Options.parseTarget(target)).withNormsFp32(normsFp32);
        if (keepAllIoTypes) {
            o = o.withKeepAllIoTypes(true);
        } else if (keepIoTypes != null) {
            o = o.withKeepIoNames(java.util.Set.copyOf(keepIoTypes));
        }
        if (opBlockList != null) {
            o = o.withOpBlockList(java.util.Set.copyOf(opBlockList));
        }
        java.util.Set<String> nodes = new java.util.TreeSet<>(fallbackNodes);
        if (nodeBlockList != null) {
            nodes.addAll(nodeBlockList);
        }
        if (!nodes.isEmpty()) {
            o = o.withNodeBlockList(nodes);
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
