package io.onnxslanc.cli;

import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.parity.Parity;
import io.onnxslanc.check.parity.ParityReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

    @Option(names = "--text", paramLabel = "FILE", description = "feed tokenised text (needs --tokenizer) instead of seeded random ids")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json or llama2.c tokenizer for --text")
    Path tokenizer;

    @Option(names = "--samples", defaultValue = "4", description = "number of inputs (lines of --text, or random samples)")
    int samples;

    @Option(names = "--seq-len", defaultValue = "64", description = "sequence length of generated inputs / text prefix")
    int seqLen;

    @Option(names = "--seed", defaultValue = "42", description = "seed of generated inputs")
    long seed;

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
        List<Map<String, TensorData>> inputs;
        if (text != null) {
            if (tokenizer == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--text needs --tokenizer");
            }
            inputs = TextInputs.fromText(ref.proto(), text, tokenizer, samples, seqLen);
        } else {
            inputs = InputGenerator.generate(ref.proto(), new InputGenerator.Options(seed, 1, seqLen, 0, -1), samples);
        }
        ParityReport report = Parity.compare(ref, cand, inputs, runtime.factory(),
                new Parity.Options(InputGenerator.vocabSize(ref.proto()), Parity.Options.defaults().relativeErrorFloor()));
        out.print(report.toTable());
        if (json != null) {
            Reports r = new Reports();
            r.putJson("parity", report.toJson());
            r.write(json);
        }
        return 0;
    }
}
