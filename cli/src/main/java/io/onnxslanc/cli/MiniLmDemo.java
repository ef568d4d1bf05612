package io.onnxslanc.cli;

import io.onnxslanc.samples.SampleModels;
import io.onnxslanc.samples.experiment.ExperimentResult;
import io.onnxslanc.samples.experiment.SlancExperiment;
import io.onnxslanc.samples.experiment.Variant;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The demo on a machine with only the repository: all-MiniLM-L6-v2 (a Maven Central jar the build already fetched)
 * instead of stories260K. SLaNC + FP16 through the main command, FP32-vs-FP16 parity on real sentences through
 * {@code embed}, and the stress test of the experiment: the residual stream amplified 16 times (the activations of
 * a 7B-scale LLM), FP16 emulated with naive norm sums. The last step checks the claim itself and exits 3 if it fails.
 */
final class MiniLmDemo {
    /** Amplification for the stress test: naive FP16 norms overflow at 16 (7 of 13), SLaNC keeps all in range. */
    static final double FACTOR = 16;

    private MiniLmDemo() {
    }

    static int run(Path outDir, PrintWriter out, PrintWriter err) throws IOException {
        Files.createDirectories(outDir);
        String fp32 = SampleModels.MINILM.model().toString();
        String fp16 = outDir.resolve("all-minilm-l6-v2.slanc-fp16.onnx").toString();
        String[][] steps = {
            {fp32, fp16, "--quiet", "--report", outDir.resolve("all-minilm-l6-v2.slanc-fp16.json").toString()},
            {"embed", "--model", "minilm", "--out", outDir.toString()},
        };
        int code = DemoCommand.runSteps(steps, out, err);
        if (code != 0) {
            return code;
        }
        out.println();
        out.println("stress test (as in `experiment`): MiniLM's residual stream amplified by c, FP16 emulated on the CPU");
        out.flush();
        ExperimentResult r = SlancExperiment.runMiniLm(List.of(FACTOR), line -> { });
        out.print(r.miniLmText());
        ExperimentResult.EncoderRow naive = r.encoder(FACTOR, Variant.NAIVE_NORMS);
        ExperimentResult.EncoderRow slanc = r.encoder(FACTOR, Variant.SLANC);
        boolean holds = slanc.overflowingNorms() == 0 && slanc.minCosine() > 0.999;
        out.printf(Locale.ROOT, "c = %d: naive FP16 norms %d / %d overflowing, min cos %.6f; SLaNC %d / %d, min cos %.6f: %s%n",
                (int) FACTOR, naive.overflowingNorms(), naive.norms(), naive.minCosine(), slanc.overflowingNorms(),
                slanc.norms(), slanc.minCosine(), holds ? "SLaNC holds" : "SLaNC did NOT hold");
        out.println();
        out.println("demo done (MiniLM): models and reports in " + outDir.toAbsolutePath());
        return holds ? 0 : 3;
    }
}
