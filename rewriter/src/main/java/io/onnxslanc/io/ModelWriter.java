package io.onnxslanc.io;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.io.UncheckedIOException;
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
 * Writes the IR to an .onnx file, streaming weights tensor by tensor. Everything goes to temp
 * files in the target folder that are renamed into place at the end, so a failure leaves
 * nothing at the output path.
 */
public final class ModelWriter {
    private final Path out;
    private final WriteOptions options;
    private final boolean external;
    private final Path dataFile;
    /** The data file this write produces: {@link #dataFile}, or a fresh name when that exists (see {@link #freshDataFile}). */
    private Path writtenDataFile;
    private Path dataTemp;
    private FileChannel dataChannel;
    private long dataPosition;
    private long bytesTotal;
    /** Where each external initializer starts in the data file (identity: a Value may share a name across graphs). */
    private final Map<Value, Long> externalOffsets = new IdentityHashMap<>();

    private ModelWriter(Model model, Path out, WriteOptions options) {
        this.out = out.toAbsolutePath();
        this.options = options;
        long weights = initializerBytes(model.graph());
        this.bytesTotal = weights;
        this.external = switch (options.externalData()) {
            case EXTERNAL -> true;
            case INLINE -> {
                if (weights > WriteOptions.INLINE_LIMIT) {
                    throw new ModelFormatException(out, "the weights (" + weights
                            + " bytes) do not fit in one protobuf (2 GiB); write them as external data");
                }
                yield false;
            }
            case AUTO -> weights > WriteOptions.INLINE_LIMIT;
        };
        this.dataFile = options.dataFile(this.out);
    }

    /** Writes {@code model} to {@code out}; returns the data file written (see {@link #write(Model, Path, WriteOptions, DataSpool)}). */
    public static Path write(Model model, Path out) {
        return write(model, out, WriteOptions.defaults());
    }

    /** Writes {@code model} to {@code out}; returns the data file written (see {@link #write(Model, Path, WriteOptions, DataSpool)}). */
    public static Path write(Model model, Path out, WriteOptions options) {
        return write(model, out, options, null);
    }

    /**
     * Writes {@code model}, taking its external data from {@code spool} when that holds exactly the tensors this
     * write would stream (same names, same content keys, same order and layout); otherwise the spool is deleted
     * and the data written as usual. Either way the files are the same as those of a write without a spool.
     *
     * @return the external data file actually written, or null when everything went inline; it is
     *         {@link WriteOptions#dataFile} of {@code out} unless that existed (an earlier pair being replaced), in
     *         which case the new data went under a fresh name so that a kill leaves the old pair or the new one whole
     */
    public static Path write(Model model, Path out, WriteOptions options, DataSpool spool) {
        ModelWriter w = new ModelWriter(model, out, options);
        w.run(model, spool);
        return w.external ? w.writtenDataFile : null;
    }

    /** Whether this model would be written with an external data file under these options. */
    public static boolean writesExternalData(Model model, WriteOptions options) {
        return options.externalData() == WriteOptions.ExternalData.EXTERNAL
                || (options.externalData() == WriteOptions.ExternalData.AUTO
                && initializerBytes(model.graph()) > WriteOptions.INLINE_LIMIT);
    }

    private static long initializerBytes(Graph g) {
        return g.initializersRecursive().stream().mapToLong(v -> v.constant().byteSize()).sum();
    }

    private void run(Model model, DataSpool spool) {
        Path modelTemp = null;
        try {
            Files.createDirectories(out.getParent());
            options.progress().begin("writing " + out.getFileName(), bytesTotal);
            if (!external && spool != null) {
                spool.close(); // written inline: the spooled data file has no use
            }
            WriteTargets inputs = WriteTargets.of(null, model);
            inputs.check(out, "output");
            TempFiles.cleanStale(out);
            if (external) {
                inputs.check(dataFile, "external data file");
                TempFiles.cleanStale(dataFile);
                writtenDataFile = Files.exists(dataFile, LinkOption.NOFOLLOW_LINKS) ? freshDataFile() : dataFile;
                List<Value> weights = externalInitializers(model.graph());
                if (spool != null && spool.matches(dataFile, options, weights)) {
                    dataTemp = spool.adopt();
                    for (int i = 0; i < weights.size(); i++) {
                        externalOffsets.put(weights.get(i), spool.offset(i));
                        options.progress().advance(weights.get(i).constant().byteSize());
                    }
                } else {
                    if (spool != null) {
                        spool.close(); // the model changed after spooling: its bytes are written here instead
                    }
                    writeDataFile(weights);
                }
            }
            List<ProtoPiece> pieces = modelPieces(model);
            modelTemp = TempFiles.beside(out);
            writePieces(pieces, modelTemp);
            // the pair is replaced so that a kill at any moment leaves the old pair or the new one: the new data goes
            // under a name no existing file has, the model is renamed over the old one last, and only then does the
            // old pair's data file go
            if (external) {
                TempFiles.moveIntoPlace(dataTemp, writtenDataFile);
                dataTemp = null;
            }
            TempFiles.moveIntoPlace(modelTemp, out);
            modelTemp = null;
            removeOldDataFiles(inputs);
            options.progress().end();
        } catch (IOException | UncheckedIOException e) {
            throw cannotWrite(e);
        } finally {
            closeQuietly();
            TempFiles.deleteQuietly(modelTemp);
            TempFiles.deleteQuietly(dataTemp);
        }
    }

    /**
     * Writes the external data file of {@code model} now, into a temp file beside {@code out}, so that it can be
     * produced while other work (SLaNC's arithmetic) goes on; {@link #write(Model, Path, WriteOptions, DataSpool)}
     * adopts it when the model it writes still has the same external tensors. Null (nothing written) when these
     * options write no external data for this model, or when a tensor cannot name its content
     * ({@link Tensor#contentKey()}: weights stored inside the .onnx, tensors built in memory), since such a spool
     * could never be adopted. Interrupting the calling thread stops the spool and deletes its file.
     */
    public static DataSpool spool(Model model, Path out, WriteOptions options) {
        ModelWriter w = new ModelWriter(model, out, options);
        if (!w.external) {
            return null;
        }
        List<Value> weights = externalInitializers(model.graph(), options);
        if (!allNameTheirContent(weights)) {
            return null;
        }
        try {
            Files.createDirectories(w.out.getParent());
            w.checkNotOverwritingSource(model.graph());
            options.progress().begin("writing " + w.dataFile.getFileName(), w.bytesTotal);
            w.writeDataFile(weights);
            options.progress().end();
            long[] offsets = weights.stream().mapToLong(w.externalOffsets::get).toArray();
            DataSpool spool = new DataSpool(w.dataFile, options, weights, offsets, w.dataTemp);
            w.dataTemp = null;
            return spool;
        } catch (IOException | UncheckedIOException e) {
            throw w.cannotWrite(e);
        } finally {
            w.closeQuietly();
            TempFiles.deleteQuietly(w.dataTemp);
        }
    }

    /** Streams {@code weights} into a new temp data file ({@link #dataTemp}), synced and closed. */
    private void writeDataFile(List<Value> weights) throws IOException {
        dataTemp = TempFiles.beside(dataFile);
        dataChannel = FileChannel.open(dataTemp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        streamData(weights);
        dataChannel.force(false);
        dataChannel.close();
        dataChannel = null;
    }

    /** Streams the model file; its size is known up front, so a tensor that wrote a wrong count is caught. */
    private void writePieces(List<ProtoPiece> pieces, Path file) throws IOException {
        long expected = 0;
        for (ProtoPiece p : pieces) {
            expected += p.size();
        }
        if (!external && expected > Integer.MAX_VALUE) {
            throw new ModelFormatException(out, "the model would be " + expected
                    + " bytes, over protobuf's 2 GiB limit; write the weights as external data");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ProtoPiece.Sink sink = new ProtoPiece.Sink(ch, options.progress());
            for (ProtoPiece p : pieces) {
                p.writeTo(sink);
            }
            sink.coded.flush();
            if (ch.position() != expected) {
                throw new IOException("wrote " + ch.position() + " bytes where the framing says " + expected);
            }
        }
    }

    /** One message for every I/O failure while writing, naming the output. */
    private ModelFormatException cannotWrite(Exception e) {
        String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
        return new ModelFormatException(out, "cannot write: " + why, e);
    }

    /**
     * Whether every tensor that would go to a data file can name its content, so that a {@link DataSpool} of this
     * model can be adopted by a write of another model read from the same file (not whether it is written with
     * external data: that also depends on the conversion still to come).
     */
    public static boolean spoolable(Model model, WriteOptions options) {
        return allNameTheirContent(externalInitializers(model.graph(), options));
    }

    private static boolean allNameTheirContent(List<Value> weights) {
        return weights.stream().allMatch(v -> v.constant().contentKey().isPresent());
    }

    /** The initializers that go to the data file, in the order the proto is built (subgraphs first, as met). */
    private List<Value> externalInitializers(Graph g) {
        return externalInitializers(g, options);
    }

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

    private static boolean goesExternal(Tensor t, WriteOptions options) {
        return t.byteSize() >= options.sizeThreshold() && t.dataType() != DataType.STRING;
    }

    private void streamData(List<Value> weights) throws IOException {
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
            externalOffsets.put(v, aligned);
            dataPosition = end;
        }
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

    /** After the new model is in place: the data files of the pair it replaced (by this output's naming rule). */
    private void removeOldDataFiles(WriteTargets inputs) {
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

    private void closeQuietly() {
        if (dataChannel != null) {
            try {
                dataChannel.close();
            } catch (IOException ignored) {
                // already failing
            }
        }
    }

    /**
     * The model as pieces whose sizes are known before anything is written (see {@link ProtoPiece}): the graph
     * structure as small messages, every tensor's bytes streamed from its source while the file is written.
     */
    private List<ProtoPiece> modelPieces(Model model) throws IOException {
        ModelProto.Builder b = ModelProto.parseFrom(model.preserved()).toBuilder();
        b.setIrVersion(model.irVersion());
        Map<String, Long> original = new java.util.LinkedHashMap<>();
        b.getOpsetImportList().forEach(o -> original.put(o.getDomain(), o.getVersion()));
        if (!original.equals(model.opsets())) { // unchanged imports are written back exactly as read
            b.clearOpsetImport();
            for (Map.Entry<String, Long> e : model.opsets().entrySet()) {
                b.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(e.getKey()).setVersion(e.getValue()));
            }
        }
        b.clearMetadataProps();
        for (Map.Entry<String, String> e : model.metadata().entrySet()) {
            b.addMetadataProps(entry(e.getKey(), e.getValue()));
        }
        ModelProto rest = b.build();
        return List.of(ProtoPiece.message(ProtoPiece.fieldsBelow(rest, GRAPH_FIELD)),
                ProtoPiece.field(GRAPH_FIELD, graph(model.graph())),
                ProtoPiece.message(ProtoPiece.fieldsFrom(rest, GRAPH_FIELD + 1)));
    }

    private static final int GRAPH_FIELD = ModelProto.GRAPH_FIELD_NUMBER;

    /** GraphProto in field order: node (1), name (2), initializer (5), then everything numbered above. */
    private List<ProtoPiece> graph(Graph g) throws IOException {
        List<ProtoPiece> parts = new ArrayList<>();
        for (Node n : g.nodes()) {
            parts.add(ProtoPiece.field(GraphProto.NODE_FIELD_NUMBER, node(n)));
        }
        parts.add(ProtoPiece.message(GraphProto.newBuilder().setName(g.name()).build()));
        for (Value v : g.initializers()) {
            parts.add(initializer(v));
        }
        GraphProto.Builder b = GraphProto.newBuilder();
        if (!g.docString().isEmpty()) {
            b.setDocString(g.docString());
        }
        for (Value v : g.inputs()) {
            b.addInput(valueInfo(v));
        }
        for (Value v : g.outputs()) {
            b.addOutput(valueInfo(v));
        }
        for (Node n : g.nodes()) {
            for (Value v : n.outputs()) {
                if (v.inValueInfo() && !v.isGraphOutput()) {
                    b.addValueInfo(valueInfo(v));
                }
            }
        }
        for (Value v : g.inputs()) {
            if (v.inValueInfo()) {
                b.addValueInfo(valueInfo(v));
            }
        }
        b.mergeFrom(GraphProto.parseFrom(g.preserved()));
        parts.add(ProtoPiece.message(b.build()));
        return parts;
    }

    /** NodeProto in field order: input, output, name, op_type (1-4), attribute (5), the rest. */
    private List<ProtoPiece> node(Node n) throws IOException {
        NodeProto.Builder low = NodeProto.newBuilder();
        for (Value v : n.inputs()) {
            low.addInput(v == null ? "" : v.name());
        }
        for (Value v : n.outputs()) {
            low.addOutput(v.name());
        }
        if (!n.name().isEmpty()) {
            low.setName(n.name());
        }
        low.setOpType(n.opType());
        List<ProtoPiece> parts = new ArrayList<>();
        parts.add(ProtoPiece.message(low.build()));
        for (Attribute a : n.attributes().values()) {
            parts.add(ProtoPiece.field(NodeProto.ATTRIBUTE_FIELD_NUMBER, attribute(a)));
        }
        NodeProto.Builder high = NodeProto.newBuilder();
        if (!n.spelledDomain().isEmpty()) {
            high.setDomain(n.spelledDomain());
        }
        high.mergeFrom(NodeProto.parseFrom(n.preserved()));
        parts.add(ProtoPiece.message(high.build()));
        return parts;
    }

    /** AttributeProto in field order; tensors and graphs inside it are pieces of their own. */
    @SuppressWarnings("unchecked")
    private List<ProtoPiece> attribute(Attribute a) throws IOException {
        if (a.kind() == Attribute.Kind.OPAQUE) {
            return List.of(ProtoPiece.message(AttributeProto.parseFrom((byte[]) a.value())));
        }
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(a.name());
        int nested = 0; // the field number of the tensor(s) or graph(s) this attribute holds
        List<List<ProtoPiece>> values = new ArrayList<>();
        switch (a.kind()) {
            case FLOAT -> b.setF(a.floatValue()).setType(AttributeProto.AttributeType.FLOAT);
            case INT -> b.setI(a.intValue()).setType(AttributeProto.AttributeType.INT);
            case STRING -> b.setS(ByteString.copyFrom((byte[]) a.value())).setType(AttributeProto.AttributeType.STRING);
            case TENSOR -> {
                nested = AttributeProto.T_FIELD_NUMBER;
                values.add(inlineTensor("", a.tensorValue()));
                b.setType(AttributeProto.AttributeType.TENSOR);
            }
            case GRAPH -> {
                nested = AttributeProto.G_FIELD_NUMBER;
                values.add(graph((Graph) a.value()));
                b.setType(AttributeProto.AttributeType.GRAPH);
            }
            case FLOATS -> {
                for (float f : (float[]) a.value()) {
                    b.addFloats(f);
                }
                b.setType(AttributeProto.AttributeType.FLOATS);
            }
            case INTS -> {
                for (long i : a.intsValue()) {
                    b.addInts(i);
                }
                b.setType(AttributeProto.AttributeType.INTS);
            }
            case STRINGS -> {
                for (byte[] s : (List<byte[]>) a.value()) {
                    b.addStrings(ByteString.copyFrom(s));
                }
                b.setType(AttributeProto.AttributeType.STRINGS);
            }
            case TENSORS -> {
                nested = AttributeProto.TENSORS_FIELD_NUMBER;
                for (Tensor t : (List<Tensor>) a.value()) {
                    values.add(inlineTensor("", t));
                }
                b.setType(AttributeProto.AttributeType.TENSORS);
            }
            case GRAPHS -> {
                nested = AttributeProto.GRAPHS_FIELD_NUMBER;
                for (Graph g : (List<Graph>) a.value()) {
                    values.add(graph(g));
                }
                b.setType(AttributeProto.AttributeType.GRAPHS);
            }
            default -> throw new IllegalStateException(a.kind().toString());
        }
        if (!a.docString().isEmpty()) {
            b.setDocString(a.docString());
        }
        if (!a.refAttrName().isEmpty()) {
            b.setRefAttrName(a.refAttrName());
        }
        AttributeProto scalars = b.build();
        if (nested == 0) {
            return List.of(ProtoPiece.message(scalars));
        }
        List<ProtoPiece> parts = new ArrayList<>();
        parts.add(ProtoPiece.message(ProtoPiece.fieldsBelow(scalars, nested)));
        for (List<ProtoPiece> value : values) {
            parts.add(ProtoPiece.field(nested, value));
        }
        parts.add(ProtoPiece.message(ProtoPiece.fieldsFrom(scalars, nested + 1)));
        return parts;
    }

    /** An initializer: external reference or inline bytes; progress advances once its bytes are written. */
    private ProtoPiece initializer(Value v) {
        Tensor t = v.constant();
        Long offset = externalOffsets.get(v);
        if (offset != null) {
            return ProtoPiece.field(GraphProto.INITIALIZER_FIELD_NUMBER,
                    List.of(ProtoPiece.message(externalTensor(v.name(), t, offset))));
        }
        ProtoPiece field = ProtoPiece.field(GraphProto.INITIALIZER_FIELD_NUMBER, inlineTensor(v.name(), t));
        return new ProtoPiece() {
            @Override
            public long size() {
                return field.size();
            }

            @Override
            public void writeTo(Sink out) throws IOException {
                field.writeTo(out);
                out.progress.advance(t.byteSize());
            }
        };
    }

    /**
     * An untouched inline tensor is written back as it was read (its raw_data aliases the mapped input and streams
     * through protobuf's buffer); others get raw_data streamed from {@link Tensor#writeTo}.
     */
    private List<ProtoPiece> inlineTensor(String name, Tensor t) {
        if (t instanceof ProtoTensor pt && pt.proto().getName().equals(name)) {
            return List.of(ProtoPiece.message(pt.proto()));
        }
        if (t instanceof ProtoTensor pt && t.dataType() == DataType.STRING) {
            return List.of(ProtoPiece.message(pt.proto().toBuilder().setName(name).build()));
        }
        TensorProto h = header(name, t).build();
        int raw = TensorProto.RAW_DATA_FIELD_NUMBER;
        return List.of(ProtoPiece.message(ProtoPiece.fieldsBelow(h, raw)), ProtoPiece.tensorBytes(raw, t),
                ProtoPiece.message(ProtoPiece.fieldsFrom(h, raw + 1)));
    }

    private static TensorProto.Builder header(String name, Tensor t) {
        TensorProto.Builder b = TensorProto.newBuilder();
        for (long d : t.dims()) {
            b.addDims(d);
        }
        b.setDataType(t.dataType().code());
        if (!name.isEmpty()) {
            b.setName(name);
        }
        if (t instanceof ProtoTensor pt) {
            if (!pt.proto().getDocString().isEmpty()) {
                b.setDocString(pt.proto().getDocString());
            }
            b.addAllMetadataProps(pt.proto().getMetadataPropsList());
        }
        return b;
    }

    private TensorProto externalTensor(String name, Tensor t, long offset) {
        TensorProto.Builder b = header(name, t);
        b.setDataLocation(TensorProto.DataLocation.EXTERNAL);
        b.addExternalData(entry("location", writtenDataFile.getFileName().toString()));
        b.addExternalData(entry("offset", Long.toString(offset)));
        b.addExternalData(entry("length", Long.toString(t.byteSize())));
        return b.build();
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static ValueInfoProto valueInfo(Value v) throws InvalidProtocolBufferException {
        ValueInfoProto.Builder b = ValueInfoProto.newBuilder().setName(v.name());
        if (v.opaqueType() != null) {
            b.setType(TypeProto.parseFrom(v.opaqueType()));
        } else if (v.type() != null) {
            b.setType(typeProto(v.type()));
        }
        if (!v.docString().isEmpty()) {
            b.setDocString(v.docString());
        }
        return b.build();
    }

    static TypeProto typeProto(TensorType t) {
        TypeProto.Tensor.Builder tb = TypeProto.Tensor.newBuilder().setElemType(t.elemType().code());
        if (t.shape() != null) {
            TensorShapeProto.Builder sb = TensorShapeProto.newBuilder();
            for (TensorType.Dim d : t.shape()) {
                TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
                if (d.value() != null) {
                    db.setDimValue(d.value());
                } else if (d.param() != null) {
                    db.setDimParam(d.param());
                }
                sb.addDim(db);
            }
            tb.setShape(sb);
        }
        return TypeProto.newBuilder().setTensorType(tb).build();
    }
}
