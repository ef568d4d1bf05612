package io.onnxslanc.cli;

import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.encoders.SentenceEmbedder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Embeds real sentences with a sample encoder (minilm, bge-small, e5-small from Maven Central), in "
                + "FP32 and after SLaNC + FP16, and prints the similarity matrix and the FP32-vs-FP16 cosine of each.")
final class EmbedCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "minilm", description = "minilm, bge-small or e5-small")
    String model;

    @Option(names = "--out", defaultValue = "demo-out", paramLabel = "DIR", description = "where the FP16 model goes")
    Path outDir;

    @Parameters(arity = "0..*", paramLabel = "SENTENCE", description = "sentences (default: four built-in ones)")
    List<String> sentences = List.of("The cat sat on the mat.", "A kitten is resting on a rug.",
            "Stock markets fell sharply on Monday.", "Investors sold shares as prices dropped.");

    @Mixin
    RuntimeOptions runtime;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        SampleModels sample = switch (model.toLowerCase(Locale.ROOT)) {
            case "minilm" -> SampleModels.MINILM;
            case "bge-small" -> SampleModels.BGE_SMALL;
            case "e5-small" -> SampleModels.E5_SMALL;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--model must be minilm, bge-small or e5-small");
        };
        Path fp32 = sample.model();
        Files.createDirectories(outDir);
        Path fp16 = outDir.resolve(fp32.getFileName().toString().replace(".onnx", ".slanc-fp16.onnx"));
        int code = Main.run(new String[] {fp32.toString(), fp16.toString(), "--quiet"}, new PrintWriter(java.io.Writer.nullWriter()),
                spec.commandLine().getErr());
        if (code != 0) {
            return code;
        }
        try (SentenceEmbedder a = new SentenceEmbedder(fp32, sample.tokenizerJson(), runtime.factory());
             SentenceEmbedder b = new SentenceEmbedder(fp16, sample.tokenizerJson(), runtime.factory())) {
            out.println(sample.coordinates() + " on " + a.runInfo());
            List<double[]> e32 = a.embedAll(sentences);
            List<double[]> e16 = b.embedAll(sentences);
            out.println("similarity (FP32; SLaNC + FP16 in brackets):");
            for (int i = 0; i < sentences.size(); i++) {
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %d %-40.40s", i, sentences.get(i)));
                for (int j = 0; j < sentences.size(); j++) {
                    row.append(String.format(Locale.ROOT, " %6.3f (%6.3f)", SentenceEmbedder.cosine(e32.get(i), e32.get(j)),
                            SentenceEmbedder.cosine(e16.get(i), e16.get(j))));
                }
                out.println(row);
            }
            double worst = 1;
            for (int i = 0; i < sentences.size(); i++) {
                worst = Math.min(worst, SentenceEmbedder.cosine(e32.get(i), e16.get(i)));
            }
            out.printf(Locale.ROOT, "FP32 vs SLaNC + FP16 embedding cosine, worst sentence: %.7f (%d dims, model %s)%n",
                    worst, e32.get(0).length, fp16);
        }
        return 0;
    }
}
