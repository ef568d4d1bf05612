package io.onnxslanc.cli;

import io.onnxslanc.check.compare.Comparison;
import io.onnxslanc.check.compare.ComparisonResult;
import io.onnxslanc.check.compare.Workload;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.ProviderChoice;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Runs every (model, execution provider, FP16 emulation) combination once and prints one table "
                + "against the first combination: perplexity on --text/--tokenizer, or output parity on generated "
                + "inputs (--inputs generated). A provider that cannot load is a row saying why.")
final class CompareCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "MODEL", description = "models, the first one is the reference")
    List<Path> models;

    @Option(names = "--ep", paramLabel = "LIST",
            description = "execution providers of one set of rows (repeatable): cpu (default), cuda, cuda,cpu")
    List<String> eps = new ArrayList<>(List.of("cpu"));

    @Option(names = "--emulate", split = ",", paramLabel = "MODE,...",
            description = "none (default), fp16-storage, fp16-naive-norms, fp16-fp32-norms; each one a set of rows")
    List<String> emulations = new ArrayList<>(List.of("none"));

    @Option(names = "--inputs", paramLabel = "KIND",
            description = "parity instead of perplexity: 'generated' (seeded inputs from the first model's input specs) "
                    + "or 'text' (lines of --text); default: perplexity when --text is given, else generated")
    String inputs;

    @Mixin
    InputOptions inputOptions;

    @Option(names = "--window", defaultValue = "512", paramLabel = "N",
            description = "perplexity: positions per window, BOS included (default 512)")
    int window;

    @Option(names = "--max-tokens", paramLabel = "N", description = "perplexity: only the first N tokens (BOS counted)")
    Integer maxTokens;

    @Option(names = "--opt-level", defaultValue = "basic", paramLabel = "LEVEL",
            description = "ONNX Runtime graph optimisation level of every row: disable, basic (default), extended, all")
    String optLevel;

    @Option(names = "--cuda-option", paramLabel = "KEY=VALUE", description = "CUDA provider option (repeatable)")
    Map<String, String> cudaOptions = new LinkedHashMap<>();

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
        ai.onnxruntime.OrtEnvironment.getEnvironment(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "onnx-slanc");
        List<SessionFactory> providers = new ArrayList<>();
        for (String ep : eps) {
            providers.add(new SessionFactory(ProviderChoice.parse(ep), SessionFactory.parseOptLevel(optLevel), cudaOptions, Map.of()));
        }
        List<Emulation.Mode> modes = new ArrayList<>();
        for (String e : emulations) {
            modes.add(e.trim().equalsIgnoreCase("none") ? null : Emulation.Mode.parse(e));
        }
        boolean perplexity = inputs == null && inputOptions.text != null;
        if (inputs != null && !inputs.equals("generated") && !inputs.equals("text")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--inputs must be 'generated' or 'text', got '" + inputs + "'");
        }
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
            if ("generated".equals(inputs)) {
                inputOptions.text = null; // seeded inputs from the specs, even when a text is at hand
            }
            ModelProto first = ModelSource.parsed(models.get(0)).proto();
            result = Comparison.run(sources, providers, modes,
                    new Workload.ParityOn(inputOptions.build(first), InputGenerator.vocabSize(first)));
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
}
