package io.onnxslanc.cli;

import io.onnxslanc.samples.llama.NormStyle;
import io.onnxslanc.samples.llama.SynthConfig;
import io.onnxslanc.samples.llama.SyntheticLlama;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Writes a SYNTHETIC Llama (seeded random weights, labelled as synthetic in its metadata) "
                + "for scale tests and benchmarks.")
final class SynthCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "OUT")
    Path out;

    @Option(names = "--preset", defaultValue = "tiny", description = "tiny, tiny-massive, tinyllama-1.1b (4.4 GB), llama2-7b (27 GB), tiny-int4 or llama2-7b-int4 (~3.9 GB; int4 MatMulNBits weights)")
    String preset;

    @Option(names = "--norm", defaultValue = "decomposed", description = "decomposed, decomposed-cast or fused")
    String norm;

    @Option(names = "--external-data", description = "stream the weights to OUT.data (always on for llama2-7b)")
    boolean externalData;

    @Option(names = "--seed", description = "weight seed")
    Long seed;

    @Override
    public Integer call() throws Exception {
        SynthConfig cfg = SynthConfig.preset(preset);
        cfg = cfg.withGraph(cfg.graph().withNormStyle(NormStyle.parse(norm)));
        if (seed != null) {
            cfg = cfg.withSeed(seed);
        }
        boolean external = externalData || preset.equals("llama2-7b") || preset.equals("tinyllama-1.1b") || cfg.int4();
        SyntheticLlama.write(out, cfg, external);
        System.out.println("wrote synthetic " + preset + " model " + out + (external ? " (+ " + out.getFileName() + ".data)" : ""));
        return 0;
    }
}
