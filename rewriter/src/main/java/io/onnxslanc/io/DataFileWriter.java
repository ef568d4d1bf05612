package io.onnxslanc.io;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The external-data half of writing: streams the weights tensor by tensor into a temp file beside the output (or
 * adopts one spooled ahead, see {@link DataSpool}), moves it into place under a name no existing file has, and
 * afterwards removes the data files of the pair it replaced. Remembers where each tensor starts, for the model's
 * references ({@link ProtoEncoder}).
 */
final class DataFileWriter implements AutoCloseable {
    private final Path out;
    private final WriteOptions options;
    private final Path dataFile;
    /** The data file this write produces: {@link #dataFile}, or a fresh name when that exists (see {@link #freshDataFile}). */
    private Path writtenDataFile;
    private Path dataTemp;
    private FileChannel dataChannel;
    private long dataPosition;
    /** Where each external initializer starts in the data file (identity: a Value may share a name across graphs). */
    private final Map<Value, Long> offsets = new IdentityHashMap<>();

    /** {@code out}: the absolute path of the .onnx this data file belongs to. */
    DataFileWriter(Path out, WriteOptions options) {
        this.out = out;
        this.options = options;
        this.dataFile = options.dataFile(out);
    }

    Path dataFile() {
        return dataFile;
    }

    Map<Value, Long> offsets() {
        return offsets;
    }

    /** The file this write produced (the model's references name it). */
    Path writtenDataFile() {
        return writtenDataFile;
    }

    /** The name the model's references give: the file this write produces. */
    String writtenName() {
        return writtenDataFile.getFileName().toString();
    }

    /**
     * Writes the data of {@code weights}, or adopts {@code spool} when it holds exactly these tensors (the spool is
     * closed otherwise); either way the bytes are in a temp file until {@link #moveIntoPlace}.
     */
    void writeOrAdopt(List<Value> weights, WriteTargets inputs, DataSpool spool) throws IOException {
        inputs.check(dataFile, "external data file");
        TempFiles.cleanStale(dataFile);
        writtenDataFile = Files.exists(dataFile, LinkOption.NOFOLLOW_LINKS) ? freshDataFile() : dataFile;
        if (spool != null && spool.matches(dataFile, options, weights)) {
            dataTemp = spool.adopt();
            for (int i = 0; i < weights.size(); i++) {
                offsets.put(weights.get(i), spool.offset(i));
                options.progress().advance(weights.get(i).constant().byteSize());
            }
        } else {
            if (spool != null) {
                spool.close(); // the model changed after spooling: its bytes are written here instead
            }
            write(weights);
        }
    }

    /** Writes the data file of {@code weights} now, as a spool a later write of the same tensors adopts. */
    DataSpool spool(Graph graph, List<Value> weights, long bytesTotal) throws IOException {
        checkNotOverwritingSource(graph);
        options.progress().begin("writing " + dataFile.getFileName(), bytesTotal);
        write(weights);
        options.progress().end();
        long[] starts = weights.stream().mapToLong(offsets::get).toArray();
        DataSpool spool = new DataSpool(dataFile, options, weights, starts, dataTemp);
        dataTemp = null;
        return spool;
    }

    /** Streams {@code weights} into a new temp data file ({@link #dataTemp}), synced and closed. */
    private void write(List<Value> weights) throws IOException {
        dataTemp = TempFiles.beside(dataFile);
        dataChannel = FileChannel.open(dataTemp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        for (Value v : weights) {
            Tensor t = v.constant();
            long aligned = (dataPosition + options.alignment() - 1) / options.alignment() * options.alignment();
            if (aligned > dataPosition) {
                dataChannel.write(ByteBuffer.allocate((int) (aligned - dataPosition)));
            }
            t.writeTo(dataChannel);
            options.progress().advance(t.byteSize());
            long end = dataChannel.position();
            if (end - aligned != t.byteSize()) {
                throw new IOException("tensor " + v.name() + " wrote " + (end - aligned) + " bytes, expected " + t.byteSize());
            }
            offsets.put(v, aligned);
            dataPosition = end;
        }
        dataChannel.force(false);
        dataChannel.close();
        dataChannel = null;
    }

    /** Renames the finished temp file to its final name (before the model goes into place). */
    void moveIntoPlace() throws IOException {
        TempFiles.moveIntoPlace(dataTemp, writtenDataFile);
        dataTemp = null;
    }

    /** Whether every tensor in {@code weights} can name its content, so a spool of them can be adopted later. */
    static boolean allNameTheirContent(List<Value> weights) {
        return weights.stream().allMatch(v -> v.constant().contentKey().isPresent());
    }

    /** The initializers that go to the data file, in the order the proto is built (subgraphs first, as met). */
    static List<Value> externalInitializers(Graph g, WriteOptions options) {
        List<Value> out = new ArrayList<>();
        collectExternal(g, options, out);
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void collectExternal(Graph g, WriteOptions options, List<Value> out) {
        for (Node n : g.nodes()) {
            for (Attribute a : n.attributes().values()) {
                if (a.kind() == Attribute.Kind.GRAPH) {
                    collectExternal((Graph) a.value(), options, out);
                } else if (a.kind() == Attribute.Kind.GRAPHS) {
                    for (Graph sub : (List<Graph>) a.value()) {
                        collectExternal(sub, options, out);
                    }
                }
            }
        }
        for (Value v : g.initializers()) {
            if (goesExternal(v.constant(), options)) {
                out.add(v);
            }
        }
    }

    static boolean goesExternal(Tensor t, WriteOptions options) {
        return t.byteSize() >= options.sizeThreshold() && t.dataType() != DataType.STRING;
    }

    private void checkNotOverwritingSource(Graph g) {
        WriteTargets inputs = new WriteTargets();
        g.initializersRecursive().forEach(v -> v.constant().backingFile().ifPresent(f -> inputs.protect(f, "the input's own data file")));
        inputs.check(dataFile, "external data file");
    }

    /**
     * The data file name used when {@link #dataFile} exists already (an earlier output being replaced):
     * NAME.data becomes NAME.&lt;16 hex digits&gt;.data, so the old pair stays whole until the new model is in place.
     */
    private Path freshDataFile() {
        // deterministic: a rerun alternates between NAME.data and one alternate name derived from NAME, so the same
        // input and options give the same files; a random name only when both exist (left over from a killed run)
        Path alternate = dataFileWithId(TempFiles.nameDigest(dataFile.getFileName().toString()));
        if (!Files.exists(alternate, LinkOption.NOFOLLOW_LINKS)) {
            return alternate;
        }
        return dataFileWithId(String.format("%016x", new java.security.SecureRandom().nextLong()));
    }

    private Path dataFileWithId(String id) {
        String name = dataFile.getFileName().toString();
        String fresh = name.endsWith(".data") ? name.substring(0, name.length() - 5) + "." + id + ".data" : name + "." + id;
        return dataFile.resolveSibling(fresh);
    }

    /** Whether {@code name} is this output's data file name or one of its fresh variants. */
    private boolean isOwnDataFileName(String name) {
        String stable = dataFile.getFileName().toString();
        if (name.equals(stable)) {
            return true;
        }
        String base = stable.endsWith(".data") ? stable.substring(0, stable.length() - 5) : stable;
        String ext = stable.endsWith(".data") ? ".data" : "";
        return name.startsWith(base + ".") && name.endsWith(ext) && name.length() == base.length() + 17 + ext.length()
                && name.substring(base.length() + 1, base.length() + 17).matches("[0-9a-f]{16}");
    }

    /**
     * After the new model is in place: the data files of the pair it replaced (by this output's naming rule). With
     * no data file written ({@code writtenDataFile} null: the model went inline), every old one goes.
     */
    void removeOldDataFiles(WriteTargets inputs) {
        try (java.util.stream.Stream<Path> files = Files.list(out.getParent())) {
            for (Path p : files.toList()) {
                if (isOwnDataFileName(p.getFileName().toString()) && !p.equals(writtenDataFile)
                        && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && !inputs.protects(p)) {
                    TempFiles.deleteQuietly(p);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // an old data file left behind wastes space but breaks nothing: the new model does not name it
        }
    }

    /** Closes the channel and deletes a temp file not moved into place (a failed or abandoned write). */
    @Override
    public void close() {
        if (dataChannel != null) {
            try {
                dataChannel.close();
            } catch (IOException ignored) {
                // already failing
            }
        }
        TempFiles.deleteQuietly(dataTemp);
        dataTemp = null;
    }
}
