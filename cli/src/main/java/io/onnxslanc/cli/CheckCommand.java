package io.onnxslanc.cli;

import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.inputs.ModelInputs;
import io.onnxslanc.check.model.RunFailedException;
import io.onnxslanc.check.parity.Parity;
import io.onnxslanc.check.parity.ParityReport;
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
                + "top-1 agreement and mean KL of the next-token distributions.")
final class CheckCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REF")
    Path reference;

    @Parameters(index = "1", paramLabel = "CAND")
    Path candidate;

    @Mixin
    InputOptions inputOptions;

    @Option(names = "--json", paramLabel = "FILE", description = "write the report as JSON")
    Path json;

    @Mixin
    RuntimeOptions runtime;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Main.checkPaths(reference, candidate);
        ModelSource ref = ModelSource.file(reference);
        ModelSource cand = ModelSource.file(candidate);
        ModelProto refGraph = ref.proto(); // parsed once for the inputs and the vocabulary
        ModelInputs inputs = inputOptions.build(refGraph);
        ParityReport report;
        try {
            report = Parity.compare(ref, cand, inputs.feeds(), runtime.factory(),
                    new Parity.Options(InputGenerator.vocabSize(refGraph), Parity.Options.defaults().relativeErrorFloor()));
        } catch (RunFailedException e) {
            // the unmodified model failing says nothing about the candidate: say what was fed and how to change it
            throw e.label().equals(ref.label()) ? inputs.referenceFailed(ref.label(), e) : e;
        }
        out.print(report.toTable());
        if (json != null) {
            Reports r = new Reports("check");
            r.putJson("parity", report.toJson());
            r.write(json);
        }
        return 0;
    }
}
