package io.onnxslanc.cli;

import io.onnxslanc.samples.DataDir;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The whole pipeline on a real trained model in one go: import stories260K, calibrate + convert it to FP16,
 * then check the FP16 model against FP32 (parity, perplexity) and probe its norms. Each step is printed as the
 * command a user would type, and run through that same command. Without the stories260K files (a fresh clone has
 * no ../shared/data) the same pipeline runs on all-MiniLM-L6-v2 from the local Maven repository instead.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Runs the pipeline on the stories260K sample: import, SLaNC + FP16, parity, perplexity, norm probe, "
                + "then the residual-amplification stress test with and without SLaNC. stories260K is looked for in "
                + "--data, -Dslanc.data, $SLANC_DATA, ../shared/data and the fetch-samples cache; without it the demo "
                + "runs on all-MiniLM-L6-v2 (SLaNC + FP16, parity on real sentences, the stress test at c = 16).")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--data", paramLabel = "DIR",
            description = "the sample data folder (default: -Dslanc.data, $SLANC_DATA, ../shared/data, then the "
                    + "fetch-samples cache)")
    Path data;

    @Option(names = "--out", defaultValue = "demo-out", paramLabel = "DIR", description = "where the models and reports go")
    Path outDir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path root;
        if (data != null) {
            root = data;
            for (String f : DataDir.STORIES_FILES) {
                if (!Files.isRegularFile(root.resolve(f))) {
                    throw new IllegalArgumentException(root.resolve(f) + ": sample data not found (--data names a folder "
                            + "without it; fetch-samples --dir " + root + " downloads it)");
                }
            }
        } else {
            List<String> looked = new ArrayList<>();
            Optional<Path> found = DataDir.findStories(looked);
            if (found.isEmpty()) {
                out.println("stories260K not found (" + String.join("; ", looked) + ").");
                out.println("Running the demo on all-MiniLM-L6-v2 from the local Maven repository instead; "
                        + "`java -jar onnx-slanc.jar fetch-samples` downloads stories260K for the full demo.");
                return MiniLmDemo.run(outDir, out, err);
            }
            root = found.get();
        }
        out.println("sample data: " + root.toAbsolutePath().normalize());
        Path ckpt = root.resolve("stories260K/stories260K.bin");
        Path tok = root.resolve("stories260K/tok512.bin");
        Path text = root.resolve("text/tinystories-val.txt");
        Files.createDirectories(outDir);
        String fp32 = outDir.resolve("stories260K.onnx").toString();
        String fp16 = outDir.resolve("stories260K.slanc-fp16.onnx").toString();
        String amplified = outDir.resolve("stories260K.x1024.onnx").toString();
        String amplifiedSlanc = outDir.resolve("stories260K.x1024.slanc.onnx").toString();
        String[][] steps = {
            {"import-llama2c", ckpt.toString(), fp32},
            {fp32, fp16, "--quiet", "--report", outDir.resolve("stories260K.slanc-fp16.json").toString()},
            {"check", fp32, fp16, "--text", text.toString(), "--tokenizer", tok.toString()},
            {"perplexity", fp32, "--text", text.toString(), "--tokenizer", tok.toString(), "--max-tokens", "512"},
            {"perplexity", fp16, "--text", text.toString(), "--tokenizer", tok.toString(), "--max-tokens", "512"},
            {"perplexity", fp32, "--text", text.toString(), "--tokenizer", tok.toString(), "--max-tokens", "512",
                "--emulate", "fp16-naive-norms"},
            {"probe", fp32, "--text", text.toString(), "--tokenizer", tok.toString(),
                "--html", outDir.resolve("stories260K.probe.html").toString()},
            // the stress test: the residual stream of a 7B-scale LLM, FP16 emulated with naive norm accumulation
            {"amplify", fp32, amplified, "--factor", "1024"},
            {"perplexity", amplified, "--text", text.toString(), "--tokenizer", tok.toString(), "--max-tokens", "512",
                "--emulate", "fp16-naive-norms"},
            {amplified, amplifiedSlanc, "--no-fp16", "--first-norm-from-embedding", "--quiet"},
            {"perplexity", amplifiedSlanc, "--text", text.toString(), "--tokenizer", tok.toString(), "--max-tokens", "512",
                "--emulate", "fp16-naive-norms"},
        };
        int code = runSteps(steps, out, err);
        if (code != 0) {
            return code;
        }
        out.println();
        out.println("demo done: models and reports in " + outDir.toAbsolutePath());
        return 0;
    }

    /** Runs each step as the command line it prints, stopping at the first that fails; that one's exit code, else 0. */
    static int runSteps(String[][] steps, PrintWriter out, PrintWriter err) {
        for (String[] step : steps) {
            out.println();
            out.println("$ java -jar onnx-slanc.jar " + String.join(" ", step));
            out.flush();
            int code = Main.run(step, out, err);
            if (code != 0) {
                return code;
            }
        }
        return 0;
    }
}
