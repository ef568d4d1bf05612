package io.onnxslanc.cli;

import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.perplexity.Perplexity;
import io.onnxslanc.check.perplexity.PerplexityOptions;
import io.onnxslanc.check.perplexity.PerplexityResult;
import io.onnxslanc.check.perplexity.WindowProtocol;
import io.onnxslanc.check.tokenize.TextTokenizer;
import io.onnxslanc.check.tokenize.Tokenizers;
import io.onnxslanc.check.tokenize.Utf8Text;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Perplexity of a causal LM (input_ids -> logits) on a text file. The last line reads "
                + "'ppl <value> tokens <scored> windows <n>'.")
final class PerplexityCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL")
    Path model;

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text to score")
    Path text;

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE",
            description = "tokenizer.json or a llama2.c tokenizer (tok512.bin), detected from its content")
    Path tokenizer;

    @Option(names = "--window", defaultValue = "512", paramLabel = "N",
            description = "positions per window, BOS included when the tokenizer defines one (default 512)")
    int window;

    @Option(names = "--stride", paramLabel = "N",
            description = "sliding windows advancing by N tokens (each token scored once, with the most context); "
                    + "default: non-overlapping windows, remainder dropped")
    Integer stride;

    @Option(names = "--max-tokens", paramLabel = "N",
            description = "use only the first N tokens of the tokenised text (BOS counted)")
    Integer maxTokens;

    @Option(names = "--emulate", paramLabel = "MODE",
            description = "fp16-storage, fp16-naive-norms or fp16-fp32-norms (norms computed in FP32 between FP16 tensors): "
                    + "emulate FP16 on the CPU with explicit Cast pairs")
    String emulate;

    @Option(names = "--kv-cache",
            description = "KV-cache decoders: feed each window token by token, the present outputs fed back as the past "
                    + "(default: the whole window at once with an empty past); the same perplexity when the cache is right")
    boolean kvCache;

    @Option(names = "--json", paramLabel = "FILE", description = "write the result as JSON")
    Path json;

    @Mixin
    RuntimeOptions runtime;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        String content = Utf8Text.read(text);
        try (TextTokenizer tok = Tokenizers.load(tokenizer)) {
            int bosSlots = tok.bos().isPresent() ? 1 : 0;
            int textWindow = window - bosSlots;
            if (textWindow < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--window must leave room for at least one token");
            }
            WindowProtocol protocol = stride == null ? WindowProtocol.nonOverlapping(textWindow)
                    : WindowProtocol.sliding(textWindow, stride);
            PerplexityOptions options = PerplexityOptions.defaults().withKvCache(kvCache);
            if (maxTokens != null) {
                options = options.withMaxTokens(maxTokens - bosSlots);
            }
            OpenedSession opened = openSession(out);
            // named by the model file, also under emulation, in Perplexity's messages (e.g. an input it cannot feed)
            try (Perplexity ppl = Perplexity.of(opened, model.toString())) {
                ppl.declaredVocab().ifPresent(tok::checkVocab);
                out.println("model " + model + " on " + opened.info().summary());
                PerplexityResult r = ppl.evaluate(tok, content, protocol, options);
                out.println("protocol: " + r.protocol() + "; NLL summed in double");
                if (json != null) {
                    Reports rep = new Reports("perplexity");
                    rep.put("model", model.toString());
                    rep.put("text", text.toString());
                    rep.putPojo("run", opened.info());
                    rep.put("emulation", emulate == null ? "none" : emulate);
                    rep.putPojo("result", r);
                    rep.write(json);
                }
                out.println(r.line());
            }
        }
        return 0;
    }

    private OpenedSession openSession(PrintWriter out) {
        if (emulate == null) {
            return runtime.factory().open(ModelSource.file(model));
        }
        Emulation.EmulatedSession es = Emulation.open(ModelSource.read(model), Emulation.Mode.parse(emulate),
                runtime.factory(), true);
        out.println("emulation " + emulate + ": " + es.casts().summary());
        return es.opened();
    }
}
