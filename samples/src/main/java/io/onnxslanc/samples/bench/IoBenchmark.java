package io.onnxslanc.samples.bench;

import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes a multi-GB external-data model through the IR and compares its throughput
 * with a plain copy of the same bytes, measured in the same run, plus the peak RSS of each phase.
 */
public final class IoBenchmark {
    private IoBenchmark() {
    }

    public record Row(String what, long bytes, double seconds, long peakRss) {
        double gbPerSecond() {
            return bytes / seconds / 1e9;
        }
    }

    /** Builds a synthetic model (labelled synthetic) of {@code totalBytes} in 256 MiB tensors. */
    public static Path createModel(Path dir, long totalBytes) {
        Graph g = new Graph();
        g.setName("synthetic-io-benchmark");
        Value x = g.addInput("x", TensorType.of(io.onnxslanc.ir.DataType.FLOAT, 1, 1024));
        long perTensor = 64L << 20; // floats: 256 MiB
        int n = (int) Math.max(1, totalBytes / (perTensor * 4));
        Value acc = x;
        for (int i = 0; i < n; i++) {
            Value w = g.addInitializer("w" + i, new PatternTensor(i, perTensor / 1024, 1024));
            Value shape = g.addInitializer("shape" + i, io.onnxslanc.ir.ArrayTensor.ofLongs(new long[] {2}, 1024, perTensor / 1024));
            Node reshape = g.addNode("Reshape", "", "reshape" + i, List.of(w, shape), List.of("wr" + i));
            Node mm = g.addNode("MatMul", "", "mm" + i, List.of(acc, reshape.output(0)), List.of("y" + i));
            Node red = g.addNode("ReduceSum", "", "sum" + i, List.of(mm.output(0)), List.of("r" + i));
            red.setAttribute(io.onnxslanc.ir.Attribute.ofInt("keepdims", 1));
            Node add = g.addNode("Add", "", "add" + i, List.of(x, red.output(0)), List.of("acc" + i));
            acc = add.output(0);
        }
        g.addOutput(acc);
        Model m = new Model(8, g);
        m.opsets().put("", 13L);
        m.metadata().put("synthetic", "io benchmark: deterministic pattern weights, not a trained model");
        Path model = dir.resolve("synthetic-io.onnx");
        ModelWriter.write(m, model, WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL));
        return model;
    }

    public static Row plainCopy(Path src, Path dst) throws IOException {
        PeakMemory.reset();
        long t0 = System.nanoTime();
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(dst, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            long size = in.size();
            for (long done = 0; done < size; ) {
                done += in.transferTo(done, size - done, out);
            }
            out.force(false);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        return new Row("plain file copy (FileChannel.transferTo)", Files.size(src), s, PeakMemory.peakRssBytes());
    }

    static Row readWrite(Path model, Path out) {
        PeakMemory.reset();
        long t0 = System.nanoTime();
        Model m = ModelReader.read(model);
        ModelWriter.write(m, out, WriteOptions.defaults().withExternalData(WriteOptions.ExternalData.EXTERNAL));
        double s = (System.nanoTime() - t0) / 1e9;
        long bytes = m.graph().initializers().stream().mapToLong(v -> v.constant().byteSize()).sum();
        return new Row("onnx-slanc read + write (IR, external data)", bytes, s, PeakMemory.peakRssBytes());
    }

    /** Runs copy and read+write alternately {@code rounds} times and prints every measurement. */
    public static List<Row> run(Path dir, long totalBytes, int rounds, PrintStream out) throws IOException {
        Files.createDirectories(dir);
        out.printf("creating a synthetic %.1f GB external-data model in %s ...%n", totalBytes / 1e9, dir);
        Path model = createModel(dir, totalBytes);
        Path data = dir.resolve("synthetic-io.onnx.data");
        List<Row> rows = new ArrayList<>();
        out.println("page cache: " + (PageCache.drop() ? "cold before every row" : PageCache.whyNot()));
        try {
            for (int r = 0; r < rounds; r++) {
                PageCache.drop();
                rows.add(plainCopy(data, dir.resolve("copy.bin")));
                Files.deleteIfExists(dir.resolve("copy.bin"));
                PageCache.drop();
                rows.add(readWrite(model, dir.resolve("rewritten.onnx")));
                Files.deleteIfExists(dir.resolve("rewritten.onnx"));
                Files.deleteIfExists(dir.resolve("rewritten.onnx.data"));
            }
        } finally {
            Files.deleteIfExists(model);
            Files.deleteIfExists(data);
        }
        out.printf("%-46s %10s %9s %9s %12s%n", "what", "GB", "seconds", "GB/s", "peak RSS MiB");
        for (Row row : rows) {
            out.printf("%-46s %10.2f %9.2f %9.2f %12d%n", row.what(), row.bytes() / 1e9, row.seconds(), row.gbPerSecond(),
                    row.peakRss() >> 20);
        }
        double copy = rows.stream().filter(r -> r.what().startsWith("plain")).mapToDouble(Row::gbPerSecond).max().orElse(0);
        double rw = rows.stream().filter(r -> r.what().startsWith("onnx")).mapToDouble(Row::gbPerSecond).max().orElse(0);
        long rss = rows.stream().filter(r -> r.what().startsWith("onnx")).mapToLong(Row::peakRss).max().orElse(-1);
        out.printf("best read+write / best copy throughput: %.0f%% (target >= 70%%); peak RSS of read+write %d MiB (target < 1024)%n",
                100 * rw / copy, rss >> 20);
        return rows;
    }

    public static void main(String[] args) throws IOException {
        long gb = args.length > 0 ? Long.parseLong(args[0]) : 3;
        Path dir = args.length > 1 ? Path.of(args[1]) : Path.of("target", "bench-io");
        run(dir, gb << 30, 2, System.out);
    }
}
