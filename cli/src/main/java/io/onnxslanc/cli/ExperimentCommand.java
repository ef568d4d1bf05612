package io.onnxslanc.cli;

import io.onnxslanc.samples.DataDir;
import io.onnxslanc.samples.experiment.ExperimentOptions;
import io.onnxslanc.samples.experiment.ExperimentResult;
import io.onnxslanc.samples.experiment.ExperimentTableCheck;
import io.onnxslanc.samples.experiment.SlancExperiment;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = "The paper's experiment, reproduced on the CPU: stories260K (and MiniLM) with the residual stream "
                + "amplified by c, run in FP32, with FP16 storage, with naive FP16 norms, with SLaNC before naive FP16 "
                + "norms, and with the norms in FP32 (FP16 emulated by explicit Cast pairs); MiniLM also with --fp32-fallback auto (f) "
                + "where SLaNC alone stays below cosine 0.999. Prints the table and its protocol. With --check FILE, "
                + "also compares FILE's copy of the table (between <!-- experiment-table: ... --> and "
                + "<!-- /experiment-table -->) with the output, cell by cell.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:ok (with --check: every compared cell agrees)",
                "1:error: one line 'error: <file>: <problem>'", "2:usage error",
                "3:--check: a cell, title or note differs (one line each, then the verdict line)"})
final class ExperimentCommand implements Callable<Integer> {
    @Option(names = "--factors", split = ",", paramLabel = "C,...", defaultValue = "1,16,64,256,1024",
            description = "amplification factors for stories260K (default 1,16,64,256,1024)")
    List<Double> factors;

    @Option(names = "--max-tokens", defaultValue = "512", paramLabel = "N",
            description = "positions evaluated, BOS counted: the first N-1 tokens of the text in windows of 512 positions "
                    + "(default 512: one window, the reference figure's protocol)")
    int maxTokens;

    @Option(names = "--minilm-factors", split = ",", paramLabel = "C,...", defaultValue = "1,16,256,1024",
            description = "amplification factors for MiniLM (default 1,16,256,1024); 'none' skips MiniLM")
    List<String> miniLmFactors;

    @Option(names = "--checkpoint", paramLabel = "FILE", description = "stories260K.bin (default: the shared data folder)")
    Path checkpoint;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tok512.bin (default: the shared data folder)")
    Path tokenizer;

    @Option(names = "--text", paramLabel = "FILE", description = "text to score (default: tinystories-val.txt)")
    Path text;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "keep the models here (default: a temporary folder)")
    Path workDir;

    @Option(names = "--json", paramLabel = "FILE", description = "write the results as JSON")
    Path json;

    @Option(names = "--markdown", paramLabel = "FILE", description = "write the tables and protocol as Markdown")
    Path markdown;

    @Option(names = "--check", paramLabel = "FILE",
            description = "compare the experiment block of FILE (e.g. README.md) with this run's output: one line per "
                    + "differing cell, exit 3 if any; rows at factors not run are left unchecked (and counted). The block's "
                    + "marker must name the same --max-tokens as this run")
    Path check;

    @Option(names = {"-q", "--quiet"}, description = "no progress lines on stderr")
    boolean quiet;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Double> minilm = miniLmFactors.size() == 1 && miniLmFactors.get(0).equalsIgnoreCase("none") ? List.of()
                : miniLmFactors.stream().map(ExperimentCommand::parseFactor).toList();
        ExperimentTableCheck.Block block = check == null ? null
                : ExperimentTableCheck.block(Files.readString(check), check.toString());
        if (block != null && block.maxPositions() != maxTokens) {
            throw new IllegalArgumentException(check + ": its experiment block was printed with --max-tokens "
                    + block.maxPositions() + ", this run uses " + maxTokens + ": only like is compared with like");
        }
        ExperimentOptions o = new ExperimentOptions(factors, maxTokens, 512, minilm,
                checkpoint != null ? checkpoint : DataDir.stories260K(), tokenizer != null ? tokenizer : DataDir.tok512(),
                text != null ? text : DataDir.tinyStoriesVal(), workDir);
        ExperimentResult r = SlancExperiment.run(o, line -> {
            if (!quiet) {
                err.println(line);
                err.flush();
            }
        });
        out.print(r.toText());
        if (json != null) {
            Files.writeString(json, r.toJson());
            out.println("json " + json);
        }
        if (markdown != null) {
            Files.writeString(markdown, r.toMarkdown());
            out.println("markdown " + markdown);
        }
        if (block != null) {
            ExperimentTableCheck.Outcome outcome = ExperimentTableCheck.compare(block.text(), r.toText());
            out.println();
            outcome.differences().forEach(out::println);
            out.println(outcome.verdictLine(check.toString()));
            return outcome.passed() ? 0 : Verdicts.EXIT_FAILED;
        }
        return 0;
    }

    private static double parseFactor(String s) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--minilm-factors: '" + s + "' is not a number (or use 'none')");
        }
    }
}
