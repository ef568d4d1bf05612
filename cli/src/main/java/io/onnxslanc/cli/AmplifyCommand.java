package io.onnxslanc.cli;

import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.io.WriteTargets;
import io.onnxslanc.ir.Model;
import io.onnxslanc.samples.amplify.AmplifyOptions;
import io.onnxslanc.samples.amplify.AmplifyReport;
import io.onnxslanc.samples.amplify.ResidualAmplifier;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "amplify", mixinStandardHelpOptions = true,
        description = "Multiplies the residual stream of a pre-norm (Llama, GPT-2) or post-norm (BERT) Transformer by C "
                + "while keeping its FP32 function: every norm's input becomes C times larger, as in large LLMs. A test "
                + "bench for FP16 norm overflow; a power of two keeps the model bit-exact in FP32.")
final class AmplifyCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "FP32 .onnx model (never modified)")
    Path input;

    @Parameters(index = "1", paramLabel = "OUT", description = "amplified .onnx model")
    Path output;

    @Option(names = "--factor", required = true, paramLabel = "C", description = "the amplification factor c > 0")
    double factor;

    @Option(names = "--readers", defaultValue = "weights", paramLabel = "HOW",
            description = "post-norm only: how the layers reading the stream get their input back: weights (default: "
                    + "W_q, W_k, W_v, W_1 divided by C, the form SLaNC recognises) or edge-mul (one Mul by 1/C per norm "
                    + "output, weights untouched)")
    String readers;

    @Option(names = "--report", paramLabel = "FILE", description = "write what was scaled as JSON")
    Path report;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--factor must be finite and > 0, got " + factor);
        }
        Main.checkPaths(input, output);
        AmplifyOptions.ReaderCompensation how = switch (readers.toLowerCase(Locale.ROOT)) {
            case "edge-mul" -> AmplifyOptions.ReaderCompensation.EDGE_MUL;
            case "weights" -> AmplifyOptions.ReaderCompensation.WEIGHTS;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--readers must be edge-mul or weights, not '" + readers + "'");
        };
        Model model = ModelReader.read(input);
        WriteTargets.of(input, model).check(output, "output").check(WriteOptions.defaults().dataFile(output),
                "output's external data file").check(report, "report");
        AmplifyReport r;
        try {
            r = ResidualAmplifier.amplify(model, new AmplifyOptions(factor, how));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(input + ": " + e.getMessage(), e);
        }
        ModelWriter.write(model, output);
        out.print(r.summary());
        out.println("wrote " + output);
        if (report != null) {
            Reports json = new Reports("amplify");
            json.put("input", input.toString());
            json.put("output", output.toString());
            json.putPojo("amplification", r);
            json.write(report);
            out.println("report " + report);
        }
        return 0;
    }
}
