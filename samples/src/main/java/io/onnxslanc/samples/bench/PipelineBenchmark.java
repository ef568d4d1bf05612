package io.onnxslanc.samples.bench;

import io.onnxslanc.Slanc;
import io.onnxslanc.SlancPipeline;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Benchmarks on a big external-data model (e.g. the synthetic Llama-2-7B preset): SLaNC calibration alone,
 * and calibration + FP16 conversion + write next to a plain read + write of the same files in the same run.
 */
public final class PipelineBenchmark {
    private PipelineBenchmark() {
    }

    public record Row(String what, double seconds, long peakRss, String note) {
    }

    /** Read + match + blocks + scales (no write), from a cold page cache where possible. */
    public static Row calibrate(Path model) {
        PageCache.drop();
        PeakMemory.reset();
        long t0 = System.nanoTime();
        Model m = ModelReader.read(model);
        CalibrationReport r = Slanc.calibrate(m, SlancOptions.defaults());
        double s = (System.nanoTime() - t0) / 1e9;
        long scaled = r.norms().stream().filter(n -> n.scale() != null).count();
        long estimated = r.norms().stream().filter(n -> Boolean.TRUE.equals(n.estimated())).count();
        double worstError = r.norms().stream().filter(n -> n.relativeStdError() != null)
                .mapToDouble(CalibrationReport.Norm::relativeStdError).max().orElse(0);
        return new Row("SLaNC calibration (read, match, blocks, scales)", s, PeakMemory.peakRssBytes(),
                scaled + "/" + r.norms().size() + " norms scaled, " + estimated + " estimated, worst rel. std error "
                        + String.format("%.2e", worstError));
    }

    /** SLaNC + FP16 + write with external data, the way {@code onnx-slanc IN OUT} runs it. */
    public static Row pipeline(Path model, Path out) {
        return timedRun(model, out, SlancOptions.defaults(), "SLaNC + FP16 + write (onnx-slanc)");
    }

    /** FP16 conversion + write alone (no SLaNC): the floor for the pipeline's streaming. */
    public static Row fp16Only(Path model, Path out) {
        return timedRun(model, out, null, "FP16 + write, no SLaNC (onnx-slanc --no-slanc)");
    }

    private static Row timedRun(Path model, Path out, SlancOptions slanc, String what) {
        PeakMemory.reset();
        long t0 = System.nanoTime();
        SlancPipeline.Result r = SlancPipeline.run(ModelReader.read(model), model, out, slanc, Fp16Options.defaults(),
                WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL));
        double s = (System.nanoTime() - t0) / 1e9;
        String note = slanc == null ? "" : "writes half the bytes it reads"
                + (r.dataSpooled() ? "; data streamed while SLaNC computed" : "");
        return new Row(what, s, PeakMemory.peakRssBytes(), note);
    }

    /** Plain read + write of the model and its data files (FileChannel.transferTo), no parsing. */
    public static Row plainCopy(Path model, Path outDir) throws IOException {
        PeakMemory.reset();
        long t0 = System.nanoTime();
        long bytes = 0;
        try (var files = Files.list(model.toAbsolutePath().getParent())) {
            String stem = model.getFileName().toString();
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith(stem)).toList()) {
                bytes += IoBenchmark.plainCopy(f, outDir.resolve(f.getFileName())).bytes();
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        return new Row("plain read + write of the same files", s, PeakMemory.peakRssBytes(),
                String.format("%.2f GB", bytes / 1e9));
    }

    /**
     * Plain copy, FP16 only, SLaNC + FP16, each from a cold page cache where the process may drop it (root on
     * Linux), so that no row reads what an earlier row left in memory; the table says which it was.
     */
    public static List<Row> run(Path model, Path workDir, PrintStream out) throws IOException {
        Files.createDirectories(workDir);
        List<Row> rows = new ArrayList<>();
        String cache = PageCache.drop() ? "cold page cache before every row" : PageCache.whyNot();
        out.println("page cache: " + cache);
        Path copyDir = Files.createDirectories(workDir.resolve("copy"));
        rows.add(plainCopy(model, copyDir));
        deleteAll(copyDir);
        print(out, rows);
        Path fp16 = workDir.resolve("pipeline.onnx");
        PageCache.drop();
        rows.add(fp16Only(model, fp16));
        deleteOutput(fp16);
        print(out, rows);
        PageCache.drop();
        rows.add(pipeline(model, fp16));
        deleteOutput(fp16);
        print(out, rows);
        double ratio = rows.get(2).seconds() / rows.get(0).seconds();
        out.printf("SLaNC + FP16 + write takes %.2fx the plain read + write (target <= 1.5x), peak RSS %d MiB (target < 1536)%n",
                ratio, rows.get(2).peakRss() >> 20);
        return rows;
    }

    private static void deleteOutput(Path onnx) throws IOException {
        Files.deleteIfExists(onnx);
        Files.deleteIfExists(WriteOptions.defaults().dataFile(onnx));
    }

    private static void print(PrintStream out, List<Row> rows) {
        out.printf("%-50s %9s %13s  %s%n", "what", "seconds", "peak RSS MiB", "note");
        for (Row r : rows) {
            out.printf("%-50s %9.1f %13d  %s%n", r.what(), r.seconds(), r.peakRss() >> 20, r.note());
        }
        out.flush();
    }

    private static void deleteAll(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    /** Usage: PipelineBenchmark MODEL.onnx [WORKDIR] */
    public static void main(String[] args) throws IOException {
        run(Path.of(args[0]), Path.of(args.length > 1 ? args[1] : "target/bench-pipeline"), System.out);
    }
}
