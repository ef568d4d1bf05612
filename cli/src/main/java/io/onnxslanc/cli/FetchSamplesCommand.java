package io.onnxslanc.cli;

import io.onnxslanc.samples.DataDir;
import io.onnxslanc.samples.data.SampleFetcher;
import io.onnxslanc.samples.data.SampleFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Downloads the stories260K demo's files (checkpoint, tokenizer, TinyStories excerpt) with pinned sha256 sums. */
@Command(name = "fetch-samples", mixinStandardHelpOptions = true,
        description = "Downloads the stories260K checkpoint and tok512.bin (huggingface.co/karpathy/tinyllamas) and the "
                + "first 794,375 bytes of the TinyStories validation stories (huggingface.co/datasets/roneneldan/TinyStories) "
                + "into the cache folder the demo looks in; every file is checked against its pinned sha256. An interrupted "
                + "download resumes on the next run.")
final class FetchSamplesCommand implements Callable<Integer> {
    @Option(names = "--dir", paramLabel = "DIR",
            description = "where to put them (default: $XDG_CACHE_HOME/onnx-slanc/data or ~/.cache/onnx-slanc/data)")
    Path dir;

    @Option(names = "--mirror", paramLabel = "URL",
            description = "fetch from a copy of the data folder instead (URL/stories260K/stories260K.bin, ...), same sums")
    URI mirror;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Path target = dir != null ? dir : DataDir.cacheDir();
        List<SampleFile> files = mirror != null ? SampleFile.mirroredAt(mirror) : SampleFile.STORIES260K;
        new SampleFetcher(target, line -> {
            out.println(line);
            out.flush();
        }).fetchAll(files);
        out.println("sample data in " + target.toAbsolutePath()
                + (dir != null ? " (run the demo with --data " + target + ")" : " (the demo finds it there)"));
        return 0;
    }
}
