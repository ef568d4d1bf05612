package io.onnxslanc.cli;

import io.onnxslanc.check.verify.Gates;
import picocli.CommandLine.Option;

/** The thresholds of a verification (check, and the main command's --verify); defaults in {@link Gates}. */
final class GateOptions {
    @Option(names = "--min-cosine", paramLabel = "X",
            description = "fail when an output's cosine to the reference is below X (default 0.999; SLaNC + FP16 measures 0.999999 on MiniLM)")
    Double minCosine;

    @Option(names = "--max-abs", paramLabel = "X", description = "fail when an element's absolute error exceeds X (default: off, it depends on the output's scale)")
    Double maxAbs;

    @Option(names = "--max-rel", paramLabel = "X", description = "fail when an element's relative error exceeds X (default: off)")
    Double maxRel;

    @Option(names = "--min-top1", paramLabel = "X",
            description = "language models: fail when the share of positions whose arg-max token agrees is below X (default 0.98)")
    Double minTop1;

    @Option(names = "--max-kl", paramLabel = "X",
            description = "language models: fail when the mean KL of the next-token distributions exceeds X (default 0.01; SLaNC + FP16 measures 4.6e-6 on stories260K)")
    Double maxKl;

    @Option(names = "--max-ppl-increase", paramLabel = "PCT",
            description = "causal LMs fed token ids: fail when the perplexity over the samples rises by more than PCT percent (default 1; SLaNC + FP16 measures -0.001%% on stories260K in the demo)")
    Double maxPplIncrease;

    Gates gates() {
        Gates g = Gates.defaults();
        if (minCosine != null) g = g.withMinCosine(minCosine);
        if (maxAbs != null) g = g.withMaxAbs(maxAbs);
        if (maxRel != null) g = g.withMaxRel(maxRel);
        if (minTop1 != null) g = g.withMinTop1(minTop1);
        if (maxKl != null) g = g.withMaxKl(maxKl);
        if (maxPplIncrease != null) g = g.withMaxPplIncreasePct(maxPplIncrease);
        return g;
    }
}
