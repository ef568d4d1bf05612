package io.onnxslanc.cli;

import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.inputs.ModelInputs;
import io.onnxslanc.check.model.RunFailedException;
import io.onnxslanc.check.parity.Parity;
import io.onnxslanc.check.verify.Verdict;
import io.onnxslanc.check.verify.Verification;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Output parity of a candidate model (e.g. the FP16 one) against the FP32 reference on the same "
                + "inputs: per output max/mean abs error, max rel error, cosine, NaN/inf; for language models also "
                + "top-1 agreement, mean KL of the next-token distributions and the perplexity over the samples. "
                + "The candidate is judged by the thresholds below; the last line is the verdict.",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:the candidate meets every threshold", "1:error (one line 'error: ...')", "2:usage error",
                "3:a threshold was missed (the verdict line names the worst output)"})
final class CheckCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REF")
    Path reference;

    @Parameters(index = "1", paramLabel = "CAND")
    Path candidate;

    @Mixin
    InputOptions inputOptions;

    @Mixin
    GateOptions gateOptions;

    @Option(names = "--emulate", paramLabel = "MODE",
            description = "run CAND (an FP32 graph, e.g. written with --no-fp16) under an FP16 emulation: fp16-storage, "
                    + "fp16-naive-norms or fp16-fp32-norms (the CPU provider hides FP16 overflow otherwise)")
    String emulate;

    @Option(names = "--json", paramLabel = "FILE", description = "write the report and the verdict as JSON")
    Path json;

    @Mixin
    RuntimeOptions runtime;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Emulation.Mode mode = emulate == null ? null : Emulation.Mode.parse(emulate);
        if (mode == null) {
            Main.checkPaths(reference, candidate); // comparing a file with itself says nothing
        } else if (!java.nio.file.Files.exists(candidate)) {
            throw new io.onnxslanc.io.ModelFormatException(candidate, "no such file"); // REF's FP16 emulation may be CAND = REF
        }
        ModelSource ref = ModelSource.file(reference);
        ModelSource cand = ModelSource.file(candidate);
        ModelProto refGraph = ref.proto(); // parsed once for the inputs and the vocabulary
        ModelInputs inputs = inputOptions.build(refGraph);
        Verdict verdict;
        try {
            verdict = Verification.verify(ref, cand, inputs.feeds(), runtime.factory(), Verification.Options.defaults()
                    .withGates(gateOptions.gates()).withEmulation(mode)
                    .withParity(new Parity.Options(InputGenerator.vocabSize(refGraph), Parity.Options.defaults().relativeErrorFloor())));
        } catch (RunFailedException e) {
            // the unmodified model failing says nothing about the candidate: say what was fed and how to change it
            throw e.label().equals(ref.label()) ? inputs.referenceFailed(ref.label(), e) : e;
        }
        out.print(Verdicts.describe(verdict));
        if (json != null) {
            Reports r = new Reports("check");
            r.putPojo("parity", verdict.parity());
            r.put("verdict", Verdicts.json(verdict));
            r.write(json);
        }
        out.println(verdict.line());
        return verdict.passed() ? 0 : Verdicts.EXIT_FAILED;
    }
}
