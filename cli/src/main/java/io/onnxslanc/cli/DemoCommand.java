package io.onnxslanc.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The whole pipeline on a real trained model in one go: import stories260K, calibrate + convert it to FP16,
 * then check the FP16 model against FP32 (parity, perplexity) and probe its norms. Each step is printed as the
 * command a user would type, and run through that same command.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Runs the pipeline on the stories260K sample: import, SLaNC + FP16, parity, perplexity, norm probe, "
                + "then the residual-amplification stress test with and without SLaNC.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--data", paramLabel = "DIR",
            description = "the shared test data folder (default: -Dslanc.data, $SLANC_DATA or ../shared/data)")
    Path data;

    @Option(names = "--out", defaultValue = "demo-out", paramLabel = "DIR", description = "where the models and reports go")
    Path outDir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path root = data != null ? data : io.onnxslanc.samples.DataDir.root();
        Path ckpt = root.resolve("stories260K/stories260K.bin");
        Path tok = root.resolve("stories260K/tok512.bin");
        Path text = root.resolve("text/tinystories-val.txt");
        for (Path p : List.of(ckpt, tok, text)) {
            if (!Files.exists(p)) {
                throw new IllegalArgumentException(p + ": sample data not found; pass --data DIR (the shared data folder)");
            }
        }
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
        for (String[] step : steps) {
            out.println();
            out.println("$ java -jar onnx-slanc.jar " + String.join(" ", step));
            out.flush();
            int code = Main.run(step, out, err);
            if (code != 0) {
                return code;
            }
        }
        out.println();
        out.println("demo done: models and reports in " + outDir.toAbsolutePath());
        return 0;
    }
}
