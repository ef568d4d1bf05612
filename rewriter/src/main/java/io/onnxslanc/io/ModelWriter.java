package io.onnxslanc.io;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
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
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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
    private Path dataTemp;
    private FileChannel dataChannel;
    private long dataPosition;
    private long bytesTotal;

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
        String dataName = options.dataFileName() != null ? options.dataFileName() : this.out.getFileName() + ".data";
        this.dataFile = this.out.resolveSibling(dataName);
    }

    public static void write(Model model, Path out) {
        write(model, out, WriteOptions.defaults());
    }

    public static void write(Model model, Path out, WriteOptions options) {
        new ModelWriter(model, out, options).run(model);
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

    private void run(Model model) {
        Path modelTemp = null;
        try {
            Files.createDirectories(out.getParent());
            if (external) {
                checkNotOverwritingSource(model.graph());
                dataTemp = Files.createTempFile(out.getParent(), "." + dataFile.getFileName(), ".tmp");
                dataChannel = FileChannel.open(dataTemp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            }
            options.progress().begin("writing " + out.getFileName(), bytesTotal);
            ModelProto proto = toProto(model);
            modelTemp = Files.createTempFile(out.getParent(), "." + out.getFileName(), ".tmp");
            try (OutputStream os = Files.newOutputStream(modelTemp)) {
                CodedOutputStream cos = CodedOutputStream.newInstance(os, 1 << 16);
                proto.writeTo(cos);
                cos.flush();
            }
            if (external) {
                dataChannel.force(false);
                dataChannel.close();
                dataChannel = null;
                Files.move(dataTemp, dataFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                dataTemp = null;
            }
            Files.move(modelTemp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            modelTemp = null;
            options.progress().end();
        } catch (IOException e) {
            throw new ModelFormatException(out, "cannot write: " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new ModelFormatException(out, "cannot write: " + e.getCause().getMessage(), e);
        } finally {
            closeQuietly();
            deleteQuietly(modelTemp);
            deleteQuietly(dataTemp);
        }
    }

    private void checkNotOverwritingSource(Graph g) {
        for (Value v : g.initializersRecursive()) {
            if (v.constant().backingFile().map(f -> f.toAbsolutePath().normalize().equals(dataFile.normalize())).orElse(false)) {
                throw new ModelFormatException(out, "its external data file " + dataFile.getFileName()
                        + " is the input's own data file; choose another output name");
            }
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

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    private ModelProto toProto(Model model) throws IOException {
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
        b.setGraph(graph(model.graph()));
        return b.build();
    }

    private GraphProto graph(Graph g) throws IOException {
        GraphProto preserved = GraphProto.parseFrom(g.preserved());
        GraphProto.Builder b = GraphProto.newBuilder();
        for (Node n : g.nodes()) {
            b.addNode(node(n));
        }
        b.setName(g.name());
        for (Value v : g.initializers()) {
            b.addInitializer(initializer(v));
        }
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
        b.mergeFrom(preserved);
        return b.build();
    }

    private NodeProto node(Node n) throws IOException {
        NodeProto.Builder b = NodeProto.newBuilder();
        for (Value v : n.inputs()) {
            b.addInput(v == null ? "" : v.name());
        }
        for (Value v : n.outputs()) {
            b.addOutput(v.name());
        }
        if (!n.name().isEmpty()) {
            b.setName(n.name());
        }
        b.setOpType(n.opType());
        for (Attribute a : n.attributes().values()) {
            b.addAttribute(attribute(a));
        }
        if (!n.domain().isEmpty()) {
            b.setDomain(n.domain());
        }
        b.mergeFrom(NodeProto.parseFrom(n.preserved()));
        return b.build();
    }

    @SuppressWarnings("unchecked")
    private AttributeProto attribute(Attribute a) throws IOException {
        if (a.kind() == Attribute.Kind.OPAQUE) {
            return AttributeProto.parseFrom((byte[]) a.value());
        }
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(a.name());
        switch (a.kind()) {
            case FLOAT -> b.setF(a.floatValue()).setType(AttributeProto.AttributeType.FLOAT);
            case INT -> b.setI(a.intValue()).setType(AttributeProto.AttributeType.INT);
            case STRING -> b.setS(ByteString.copyFrom((byte[]) a.value())).setType(AttributeProto.AttributeType.STRING);
            case TENSOR -> b.setT(inlineTensor("", a.tensorValue())).setType(AttributeProto.AttributeType.TENSOR);
            case GRAPH -> b.setG(graph((Graph) a.value())).setType(AttributeProto.AttributeType.GRAPH);
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
                for (Tensor t : (List<Tensor>) a.value()) {
                    b.addTensors(inlineTensor("", t));
                }
                b.setType(AttributeProto.AttributeType.TENSORS);
            }
            case GRAPHS -> {
                for (Graph g : (List<Graph>) a.value()) {
                    b.addGraphs(graph(g));
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
        return b.build();
    }

    private TensorProto initializer(Value v) throws IOException {
        Tensor t = v.constant();
        if (external && t.byteSize() >= options.sizeThreshold() && t.dataType() != DataType.STRING) {
            return externalTensor(v.name(), t);
        }
        TensorProto p = inlineTensor(v.name(), t);
        options.progress().advance(t.byteSize());
        return p;
    }

    /** An untouched inline tensor is written back as it was read; others get raw_data. */
    private TensorProto inlineTensor(String name, Tensor t) {
        if (t instanceof ProtoTensor pt && pt.proto().getName().equals(name)) {
            return pt.proto();
        }
        if (t instanceof ProtoTensor pt && t.dataType() == DataType.STRING) {
            return pt.proto().toBuilder().setName(name).build();
        }
        TensorProto.Builder b = header(name, t);
        b.setRawData(ProtoTensor.rawBytes(t));
        return b.build();
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

    private TensorProto externalTensor(String name, Tensor t) throws IOException {
        long aligned = (dataPosition + options.alignment() - 1) / options.alignment() * options.alignment();
        if (aligned > dataPosition) {
            dataChannel.write(ByteBuffer.allocate((int) (aligned - dataPosition)));
        }
        long start = aligned;
        t.writeTo(dataChannel);
        options.progress().advance(t.byteSize());
        long end = dataChannel.position();
        if (end - start != t.byteSize()) {
            throw new IOException("tensor " + name + " wrote " + (end - start) + " bytes, expected " + t.byteSize());
        }
        dataPosition = end;
        TensorProto.Builder b = header(name, t);
        b.setDataLocation(TensorProto.DataLocation.EXTERNAL);
        b.addExternalData(entry("location", dataFile.getFileName().toString()));
        b.addExternalData(entry("offset", Long.toString(start)));
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
