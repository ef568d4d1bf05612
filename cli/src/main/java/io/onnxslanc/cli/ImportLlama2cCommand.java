package io.onnxslanc.cli;

import io.onnxslanc.samples.llama.ImportOptions;
import io.onnxslanc.samples.llama.Llama2cImporter;
import io.onnxslanc.samples.llama.NormStyle;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.io.WriteTargets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "import-llama2c", mixinStandardHelpOptions = true,
        description = "Builds an ONNX model (input_ids -> logits) from a llama2.c checkpoint such as stories260K.bin.")
final class ImportLlama2cCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CHECKPOINT")
    Path checkpoint;

    @Parameters(index = "1", paramLabel = "OUT")
    Path out;

    @Option(names = "--norm", defaultValue = "decomposed",
            description = "how RMSNorm is written: decomposed (PyTorch export of HF Llama), decomposed-cast "
                    + "(with the Cast-to-float wrappers), fused (ONNX Runtime's Simplified/SkipSimplifiedLayerNormalization)")
    String norm;

    @Option(names = "--past", description = "add past-key-value inputs and present outputs")
    boolean past;

    @Option(names = "--merged", description = "merged decoder as Optimum writes it: the decoders with and without "
            + "past as the branches of one If on the bool input use_cache_branch, weights shared in the outer graph")
    boolean merged;

    @Option(names = "--external-data", description = "write the weights to OUT.data")
    boolean externalData;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        WriteTargets.of(checkpoint, null).check(out, "output").check(WriteOptions.defaults().dataFile(out),
                "output's external data file");
        NormStyle style = NormStyle.parse(norm);
        ImportOptions opts = ImportOptions.defaults().withNormStyle(style).withPastKeyValues(past);
        if (merged) Llama2cImporter.importMergedDecoder(checkpoint, opts, out, externalData);
        else Llama2cImporter.importCheckpoint(checkpoint, opts, out, externalData);
        spec.commandLine().getOut().println("wrote " + out + " (" + style.name().toLowerCase(Locale.ROOT) + " RMSNorm"
                + (merged ? ", merged decoder with and without past" : past ? ", past key/values" : "") + ")");
        return 0;
    }
}
