package io.onnxslanc.io;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.GraphCycleException;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.ProtoBytes;
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
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads an .onnx file into the IR. The protobuf part is memory-mapped and parsed with aliasing,
 * so inline weights are views of the file, and external weights stay in their files until used.
 */
public final class ModelReader {
    private final Path file;
    private final Path baseDir;
    private final Map<Path, Long> dataFileSizes = new HashMap<>();
    private final Map<String, Path> realDataFiles = new HashMap<>();

    private ModelReader(Path file) {
        this.file = file;
        Path parent = file.toAbsolutePath().getParent();
        this.baseDir = parent == null ? Path.of(".") : parent;
    }

    public static Model read(Path file) {
        ModelReader reader = new ModelReader(file);
        return reader.toModel(reader.parse());
    }

    /**
     * The IR of a model already parsed (an in-memory model, say). {@code modelFile} names it in messages and is
     * where external data locations resolve from; the proto itself is not read from it.
     */
    public static Model fromProto(ModelProto proto, Path modelFile) {
        return new ModelReader(modelFile).toModel(proto);
    }

    /** Parses only the protobuf (weights stay external); for tools that work on protos directly. */
    public static ModelProto readProto(Path file) {
        return new ModelReader(file).parse();
    }

    private Model toModel(ModelProto proto) {
        Graph graph = new Graph();
        Model model = new Model(proto.getIrVersion(), graph);
        for (OperatorSetIdProto op : proto.getOpsetImportList()) {
            model.opsets().put(op.getDomain(), op.getVersion());
        }
        for (StringStringEntryProto e : proto.getMetadataPropsList()) {
            model.metadata().put(e.getKey(), e.getValue());
        }
        ProtoBytes.setPreserved(model, proto.toBuilder().clearGraph().clearIrVersion().clearMetadataProps()
                .build().toByteArray());
        try {
            fillGraph(graph, proto.getGraph());
            graph.toposort();
        } catch (GraphCycleException | IllegalArgumentException | IllegalStateException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
        return model;
    }

    private ModelProto parse() {
        if (!Files.exists(file)) {
            throw new ModelFormatException(file, "no such file");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ModelFormatException(file, "not a readable file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) {
                throw new ModelFormatException(file, "empty file, not an ONNX model");
            }
            if (size > Integer.MAX_VALUE) {
                throw new ModelFormatException(file, "the protobuf part is " + size
                        + " bytes, over protobuf's 2 GiB limit; store the weights as external data");
            }
            ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            CodedInputStream in = CodedInputStream.newInstance(mapped);
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            in.setRecursionLimit(1000);
            ModelProto proto = ModelProto.parseFrom(in);
            if (!proto.hasGraph() || proto.getIrVersion() <= 0) {
                throw new ModelFormatException(file, "not an ONNX model (no " + (proto.hasGraph() ? "ir_version" : "graph") + ")");
            }
            return proto;
        } catch (InvalidProtocolBufferException e) {
            String why = e.getMessage() != null && e.getMessage().contains("ended unexpectedly")
                    ? "truncated file (the protobuf ends in the middle of a message)"
                    : "not an ONNX protobuf (" + e.getMessage() + ")";
            throw new ModelFormatException(file, why, e);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private void fillGraph(Graph graph, GraphProto gp) {
        graph.setName(gp.getName());
        graph.setDocString(gp.getDocString());
        for (TensorProto t : gp.getInitializerList()) {
            graph.addInitializer(t.getName(), tensor(t));
        }
        for (ValueInfoProto vi : gp.getInputList()) {
            Value existing = graph.lookup(vi.getName());
            if (existing != null && existing.graph() == graph && existing.isInitializer()) {
                graph.addExistingAsInput(existing);
                applyType(existing, vi);
            } else {
                applyType(graph.addInput(vi.getName(), null), vi);
            }
        }
        // first every node with its outputs, then the edges: files need not be topologically sorted
        List<Node> nodes = new ArrayList<>();
        for (NodeProto np : gp.getNodeList()) {
            for (String out : np.getOutputList()) {
                if (!out.isEmpty() && graph.lookup(out) != null && graph.lookup(out).graph() == graph) {
                    throw new IllegalArgumentException("value '" + out + "' has two producers (second: node '" + np.getName() + "')");
                }
            }
            nodes.add(graph.addNode(np.getOpType(), np.getDomain(), np.getName(), List.of(), np.getOutputList()));
        }
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto np = gp.getNode(i);
            Node n = nodes.get(i);
            for (String in : np.getInputList()) {
                if (in.isEmpty()) {
                    n.addInput(null);
                    continue;
                }
                Value v = graph.lookup(in);
                if (v == null) {
                    throw new IllegalArgumentException("node '" + np.getName() + "' (" + np.getOpType() + ") uses '" + in
                            + "', which no node, input or initializer defines");
                }
                n.addInput(v);
            }
            for (AttributeProto ap : np.getAttributeList()) {
                n.setAttribute(attribute(graph, ap));
            }
            ProtoBytes.setPreserved(n, np.toBuilder().clearInput().clearOutput().clearName().clearOpType().clearDomain()
                    .clearAttribute().build().toByteArray());
        }
        GraphProto.Builder leftover = gp.toBuilder().clearNode().clearInitializer().clearInput().clearOutput()
                .clearValueInfo().clearName().clearDocString();
        for (ValueInfoProto vi : gp.getValueInfoList()) {
            Value v = graph.lookup(vi.getName());
            if (v != null && v.graph() == graph && !v.inValueInfo()) {
                applyType(v, vi);
                v.setInValueInfo(true);
            } else {
                leftover.addValueInfo(vi); // annotation of nothing in this graph: carried as it was
            }
        }
        for (ValueInfoProto vi : gp.getOutputList()) {
            Value v = graph.lookup(vi.getName());
            if (v == null) {
                throw new IllegalArgumentException("graph output '" + vi.getName() + "' is not produced by any node");
            }
            checkOutputType(v, vi);
            applyType(v, vi);
            graph.addOutput(v);
        }
        ProtoBytes.setPreserved(graph, leftover.build().toByteArray());
    }

    /** value_info and the graph output must agree on the element type: a converter that retyped one half broke the model. */
    private void checkOutputType(Value v, ValueInfoProto vi) {
        if (v.type() != null && vi.getType().hasTensorType() && vi.getType().getTensorType().getElemType() != 0
                && v.type().elemType().code() != vi.getType().getTensorType().getElemType()) {
            throw new IllegalArgumentException("graph output '" + vi.getName() + "' is declared "
                    + DataType.fromCode(vi.getType().getTensorType().getElemType()) + " but value_info says "
                    + v.type().elemType());
        }
    }

    private void applyType(Value v, ValueInfoProto vi) {
        if (!vi.getDocString().isEmpty()) {
            v.setDocString(vi.getDocString());
        }
        if (!vi.hasType()) {
            return;
        }
        TypeProto tp = vi.getType();
        if (tp.hasTensorType() && tp.getDenotation().isEmpty() && !hasDenotations(tp.getTensorType().getShape())) {
            int code = tp.getTensorType().getElemType();
            if (!DataType.isKnownCode(code)) {
                throw new IllegalArgumentException("value '" + vi.getName() + "' has unknown element type " + code);
            }
            List<TensorType.Dim> shape = null;
            if (tp.getTensorType().hasShape()) {
                shape = new ArrayList<>();
                for (TensorShapeProto.Dimension d : tp.getTensorType().getShape().getDimList()) {
                    shape.add(d.hasDimValue() ? TensorType.Dim.of(d.getDimValue())
                            : d.hasDimParam() ? TensorType.Dim.named(d.getDimParam()) : TensorType.Dim.unknown());
                }
            }
            v.setType(new TensorType(DataType.fromCode(code), shape));
        } else {
            ProtoBytes.setNonTensorType(v, tp.toByteArray());
            if (tp.hasTensorType() && DataType.isKnownCode(tp.getTensorType().getElemType())) {
                v.setType(new TensorType(DataType.fromCode(tp.getTensorType().getElemType()), null));
            }
        }
    }

    private static boolean hasDenotations(TensorShapeProto shape) {
        return shape.getDimList().stream().anyMatch(d -> !d.getDenotation().isEmpty());
    }

    private Attribute attribute(Graph owner, AttributeProto ap) {
        String n = ap.getName();
        String doc = ap.getDocString();
        String ref = ap.getRefAttrName();
        AttributeProto.AttributeType t = ap.getType();
        return switch (t) {
            case FLOAT -> new Attribute(n, Attribute.Kind.FLOAT, ap.getF(), doc, ref);
            case INT -> new Attribute(n, Attribute.Kind.INT, ap.getI(), doc, ref);
            case STRING -> new Attribute(n, Attribute.Kind.STRING, ap.getS().toByteArray(), doc, ref);
            case TENSOR -> new Attribute(n, Attribute.Kind.TENSOR, tensor(ap.getT()), doc, ref);
            case GRAPH -> new Attribute(n, Attribute.Kind.GRAPH, subgraph(owner, ap.getG()), doc, ref);
            case FLOATS -> {
                float[] f = new float[ap.getFloatsCount()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = ap.getFloats(i);
                }
                yield new Attribute(n, Attribute.Kind.FLOATS, f, doc, ref);
            }
            case INTS -> new Attribute(n, Attribute.Kind.INTS, ap.getIntsList().stream().mapToLong(Long::longValue).toArray(), doc, ref);
            case STRINGS -> new Attribute(n, Attribute.Kind.STRINGS,
                    ap.getStringsList().stream().map(com.google.protobuf.ByteString::toByteArray).toList(), doc, ref);
            case TENSORS -> new Attribute(n, Attribute.Kind.TENSORS, ap.getTensorsList().stream().map(this::tensor).toList(), doc, ref);
            case GRAPHS -> new Attribute(n, Attribute.Kind.GRAPHS,
                    ap.getGraphsList().stream().map(g -> subgraph(owner, g)).toList(), doc, ref);
            default -> new Attribute(n, Attribute.Kind.OPAQUE, ap.toByteArray(), doc, ref);
        };
    }

    private Graph subgraph(Graph owner, GraphProto gp) {
        Graph sub = owner.newSubgraph();
        fillGraph(sub, gp);
        return sub;
    }

    private Tensor tensor(TensorProto t) {
        if (!DataType.isKnownCode(t.getDataType()) || t.getDataType() == DataType.UNDEFINED.code()) {
            throw new ModelFormatException(file, "tensor '" + t.getName() + "' has "
                    + (t.getDataType() == 0 ? "data type UNDEFINED" : "unknown data type " + t.getDataType()));
        }
        DataType type = DataType.fromCode(t.getDataType());
        if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
            try {
                TensorSizes.checkInline(t, type);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(file, e.getMessage());
            }
            return new ProtoTensor(t);
        }
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = externalNumber(t, e);
                case "length" -> length = externalNumber(t, e);
                default -> { /* checksum and others are not needed to read */ }
            }
        }
        if (location == null) {
            throw new ModelFormatException(file, "tensor '" + t.getName() + "' is external but names no location");
        }
        if (type == DataType.STRING) {
            throw new ModelFormatException(file, "string tensor '" + t.getName() + "' cannot be stored as external data");
        }
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long needed;
        try {
            needed = TensorSizes.byteSize(type, TensorSizes.elementCount(t));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage());
        }
        if (needed < 0) {
            throw new ModelFormatException(file, "tensor '" + t.getName() + "' has dims " + t.getDimsList()
                    + " whose size in bytes overflows 64 bits");
        }
        if (length >= 0 && length != needed) {
            throw new ModelFormatException(file, "external tensor '" + t.getName() + "' has length " + length
                    + " but its dims " + t.getDimsList() + " need " + needed + " bytes of " + type);
        }
        length = needed;
        Path data = externalFile(t.getName(), location);
        long available = dataFileSizes.computeIfAbsent(data, p -> {
            try {
                return Files.size(p);
            } catch (IOException e) {
                return -1L;
            }
        });
        if (available < 0) {
            throw new ModelFormatException(data, "external data file of tensor '" + t.getName() + "' cannot be read");
        }
        if (offset > available - length) { // not offset + length: that sum can wrap
            throw new ModelFormatException(data, "external data file is shorter than its offsets say: tensor '"
                    + t.getName() + "' needs " + length + " bytes from offset " + offset + " but the file has " + available);
        }
        return new ExternalTensor(data, offset, length, type, dims);
    }

    private long externalNumber(TensorProto t, StringStringEntryProto e) {
        try {
            long v = Long.parseLong(e.getValue());
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ModelFormatException(file, "external tensor '" + t.getName() + "' has " + e.getKey() + " '"
                + Names.printable(e.getValue()) + "', not a byte count");
    }

    /**
     * The external data file a location names, after the rule that keeps a model from reading anything else: the
     * location is relative, and its real path (every symbolic link resolved, in the folder part too) lies inside
     * the real path of the model's folder and is a regular file. Checked before the file is opened, so a FIFO or
     * device never blocks a read. One check per location.
     */
    private Path externalFile(String tensor, String location) {
        Path checked = realDataFiles.get(location);
        if (checked != null) {
            return checked;
        }
        String shown = "external data location '" + Names.printable(location) + "' of tensor '" + Names.printable(tensor) + "'";
        Path named;
        try {
            named = baseDir.resolve(location).normalize();
            if (location.isEmpty() || Path.of(location).isAbsolute() || !named.startsWith(baseDir.normalize())) {
                throw new ModelFormatException(file, shown + " points outside the model's folder");
            }
        } catch (java.nio.file.InvalidPathException e) {
            throw new ModelFormatException(file, shown + " is not a valid path");
        }
        Path real;
        try {
            real = named.toRealPath();
        } catch (IOException e) {
            throw new ModelFormatException(named, "external data file of tensor '" + Names.printable(tensor) + "' is missing");
        }
        Path realBase;
        try {
            realBase = baseDir.toRealPath();
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot resolve the model's folder: " + e.getMessage());
        }
        if (!real.startsWith(realBase)) {
            throw new ModelFormatException(file, shown + " resolves through a symbolic link to a file outside the model's folder");
        }
        if (!Files.isRegularFile(real, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new ModelFormatException(file, shown + " is not a regular file (a folder, FIFO or device)");
        }
        realDataFiles.put(location, real);
        return real;
    }
}
