package io.onnxslanc.cli;

import io.onnxslanc.check.compare.Comparison;
import io.onnxslanc.check.compare.ComparisonResult;
import io.onnxslanc.check.compare.Workload;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.perplexity.PerplexityOptions;
import io.onnxslanc.check.perplexity.WindowProtocol;
import io.onnxslanc.check.tokenize.TextTokenizer;
import io.onnxslanc.check.tokenize.Tokenizers;
import io.onnxslanc.check.tokenize.Utf8Text;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Runs every (model, execution provider, FP16 emulation) combination once and prints one table "
                + "against the first combination: perplexity on --text/--tokenizer, or output parity on "
                + "real inputs (--inputs DIR) or generated ones (--inputs generated). A provider that cannot load is a row saying why.")
final class CompareCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "MODEL", description = "models, the first one is the reference")
    List<Path> models;

    @Option(names = "--ep", paramLabel = "LIST",
            description = "execution providers of one set of rows (repeatable): cpu (default), cuda, cuda,cpu")
    List<String> eps = new ArrayList<>(List.of("cpu"));

    @Option(names = "--emulate", split = ",", paramLabel = "MODE,...",
            description = "none (default), fp16-storage, fp16-naive-norms, fp16-fp32-norms; each one a set of rows")
    List<String> emulations = new ArrayList<>(List.of("none"));

    @Option(names = "--workload", paramLabel = "KIND",
            description = "perplexity (of --text through --tokenizer) or parity (outputs against the first row on "
                    + "--inputs DIR, lines of --text, or generated inputs); default: perplexity when --text is given "
                    + "without --inputs, else parity")
    String workload;

    @Mixin
    InputOptions inputOptions;

    @Option(names = "--window", defaultValue = "512", paramLabel = "N",
            description = "perplexity: positions per window, BOS included (default 512)")
    int window;

    @Option(names = "--max-tokens", paramLabel = "N", description = "perplexity: only the first N tokens (BOS counted)")
    Integer maxTokens;

    @Mixin
    SessionTuning tuning; // --opt-level, --cuda-option of every row

    @Option(names = "--json", paramLabel = "FILE", description = "write the rows as JSON")
    Path json;

    @Option(names = "--html", paramLabel = "FILE", description = "write a self-contained HTML page with a bar chart of the deltas")
    Path html;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<ModelSource> sources = new ArrayList<>();
        for (Path m : models) {
            sources.add(ModelSource.file(m));
        }
        List<SessionFactory> providers = new ArrayList<>();
        for (String ep : eps) {
            providers.add(tuning.factory(ep));
        }
        List<Emulation.Mode> modes = new ArrayList<>();
        for (String e : emulations) {
            modes.add(e.trim().equalsIgnoreCase("none") ? null : Emulation.Mode.parse(e));
        }
        boolean perplexity = perplexityAsked();
        ComparisonResult result;
        if (perplexity) {
            if (inputOptions.tokenizer == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--text needs --tokenizer");
            }
            String content = Utf8Text.read(inputOptions.text);
            try (TextTokenizer tok = Tokenizers.load(inputOptions.tokenizer)) {
                int bos = tok.bos().isPresent() ? 1 : 0;
                if (window - bos < 1) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--window must leave room for at least one token");
                }
                PerplexityOptions options = PerplexityOptions.defaults();
                if (maxTokens != null) {
                    options = options.withMaxTokens(maxTokens - bos);
                }
                result = Comparison.run(sources, providers, modes,
                        new Workload.PerplexityOf(tok, content, WindowProtocol.nonOverlapping(window - bos), options));
            }
        } else {
            ModelProto first = ModelSource.parsed(models.get(0)).proto();
            result = Comparison.run(sources, providers, modes,
                    new Workload.ParityOn(inputOptions.build(first).feeds(), InputGenerator.vocabSize(first)));
        }
        out.print(result.toTable());
        if (json != null) {
            Files.writeString(json, result.toJson());
            out.println("json " + json);
        }
        if (html != null) {
            Files.writeString(html, result.toHtml());
            out.println("chart " + html);
        }
        if (result.rows().stream().noneMatch(r -> r.ran())) {
            throw new IllegalStateException("no combination could run (see the status column)");
        }
        return 0;
    }

    /** The workload: --workload when given, else perplexity exactly when --text comes without --inputs. */
    private boolean perplexityAsked() {
        if (workload == null) {
            return inputOptions.inputsDir == null && inputOptions.text != null;
        }
        switch (workload) {
            case "perplexity":
                if (inputOptions.inputsDir != null) {
                    throw new CommandLine.ParameterException(spec.commandLine(),
                            "--workload perplexity reads --text; --inputs is for --workload parity");
                }
                if (inputOptions.text == null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--workload perplexity needs --text and --tokenizer");
                }
                return true;
            case "parity":
                return false;
            default:
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--workload must be 'perplexity' or 'parity', got '" + workload + "'");
        }
    }
}
