package io.onnxslanc.io;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The IR -> protobuf half of writing: the model as {@link ProtoPiece}s whose sizes are known before anything is
 * written, so that weights stream from their sources into the file. Fields the IR does not model come back from
 * each element's preserved bytes; external initializers become references into the data file.
 */
final class ProtoEncoder {
    /** Where each external initializer starts in the data file (identity: a Value may share a name across graphs). */
    private final Map<Value, Long> externalOffsets;
    private final String dataFileName;

    /** {@code externalOffsets}: the initializers written to the data file named {@code dataFileName} (null: none). */
    ProtoEncoder(Map<Value, Long> externalOffsets, String dataFileName) {
        this.externalOffsets = externalOffsets;
        this.dataFileName = dataFileName;
    }

    /**
     * The model as pieces whose sizes are known before anything is written (see {@link ProtoPiece}): the graph
     * structure as small messages, every tensor's bytes streamed from its source while the file is written.
     */
    List<ProtoPiece> modelPieces(Model model) throws IOException {
        ModelProto rest = modelFields(model);
        return List.of(ProtoPiece.message(ProtoPiece.fieldsBelow(rest, GRAPH_FIELD)),
                ProtoPiece.field(GRAPH_FIELD, graph(model.graph())),
                ProtoPiece.message(ProtoPiece.fieldsFrom(rest, GRAPH_FIELD + 1)));
    }

    /** The model's own fields (everything but the graph, which is written in pieces). */
    private static ModelProto modelFields(Model model) throws IOException {
        ModelProto.Builder b = ModelProto.parseFrom(ProtoBytes.preserved(model)).toBuilder();
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
        return b.clearGraph().build();
    }

    private static final int GRAPH_FIELD = ModelProto.GRAPH_FIELD_NUMBER;

    /**
     * The model in the weights-first inline layout ({@link WeightsFirst}): the model's fields numbered below graph,
     * the graph's tag and a five-byte length, the {@code lead} initializers, then the rest of the graph in the
     * usual order without them, then the model's fields numbered above graph.
     */
    WeightsFirst weightsFirst(Model model, List<Value> lead) throws IOException {
        ModelProto rest = modelFields(model);
        ModelProto belowGraph = ProtoPiece.fieldsBelow(rest, GRAPH_FIELD);
        ProtoPiece below = ProtoPiece.message(belowGraph);
        List<ProtoPiece> leadPieces = new ArrayList<>();
        List<com.google.protobuf.ByteString> signature = new ArrayList<>();
        signature.add(belowGraph.toByteString());
        for (Value v : lead) {
            leadPieces.add(initializer(v));
            signature.add(header(v.name(), v.constant()).build().toByteString()
                    .concat(com.google.protobuf.ByteString.copyFromUtf8(" " + v.constant().contentKey().orElseThrow())));
        }
        java.util.Set<Value> skip = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        skip.addAll(lead);
        List<ProtoPiece> graphRest = graph(model.graph(), skip);
        long graphLength = 0;
        for (ProtoPiece p : leadPieces) {
            graphLength += p.size();
        }
        for (ProtoPiece p : graphRest) {
            graphLength += p.size();
        }
        List<ProtoPiece> head = new ArrayList<>();
        head.add(below);
        head.add(ProtoPiece.paddedLengthTag(GRAPH_FIELD, graphLength));
        head.addAll(leadPieces);
        List<ProtoPiece> tail = new ArrayList<>(graphRest);
        tail.add(ProtoPiece.message(ProtoPiece.fieldsFrom(rest, GRAPH_FIELD + 1)));
        long lengthAt = below.size() + com.google.protobuf.CodedOutputStream.computeTagSize(GRAPH_FIELD);
        return new WeightsFirst(head, tail, lengthAt, graphLength, List.copyOf(signature));
    }

    /**
     * A model laid out with its large weights first, so that they can be written before the graph's structure is
     * final (an inline model streamed while SLaNC computes, see {@link HeadSpool}). The graph's length goes in five
     * bytes (a varint with redundant continuation bits, which protobuf parsers read like any other) so that it can
     * be filled in last; protobuf parsers accept fields in any order. Files in this layout are not byte for byte
     * what {@code ModelProto.writeTo} gives, but parse to the same model.
     *
     * @param head        model fields below graph, the graph's tag and padded length, the lead initializers
     * @param tail        the rest of the graph, then the model's fields above graph
     * @param lengthAt    the file offset of the graph's five length bytes
     * @param graphLength the graph's encoded length
     * @param signature   everything in the head except the tensors' bytes, which their content keys stand for: two
     *                    heads with equal signatures are byte-identical
     */
    record WeightsFirst(List<ProtoPiece> head, List<ProtoPiece> tail, long lengthAt, long graphLength,
                        List<com.google.protobuf.ByteString> signature) {
        long headSize() {
            return head.stream().mapToLong(ProtoPiece::size).sum();
        }

        long size() {
            return headSize() + tail.stream().mapToLong(ProtoPiece::size).sum();
        }
    }

    /** GraphProto in field order: node (1), name (2), initializer (5), then everything numbered above. */
    private List<ProtoPiece> graph(Graph g) throws IOException {
        return graph(g, java.util.Set.of());
    }

    /** {@link #graph(Graph)} without the initializers in {@code skip} (written ahead of the rest). */
    private List<ProtoPiece> graph(Graph g, java.util.Set<Value> skip) throws IOException {
        List<ProtoPiece> parts = new ArrayList<>();
        for (Node n : g.nodes()) {
            parts.add(ProtoPiece.field(GraphProto.NODE_FIELD_NUMBER, node(n)));
        }
        parts.add(ProtoPiece.message(GraphProto.newBuilder().setName(g.name()).build()));
        for (Value v : g.initializers()) {
            if (!skip.contains(v)) {
                parts.add(initializer(v));
            }
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
        b.mergeFrom(GraphProto.parseFrom(ProtoBytes.preserved(g)));
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
        high.mergeFrom(NodeProto.parseFrom(ProtoBytes.preserved(n)));
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
        b.addExternalData(entry("location", dataFileName));
        b.addExternalData(entry("offset", Long.toString(offset)));
        b.addExternalData(entry("length", Long.toString(t.byteSize())));
        return b.build();
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static ValueInfoProto valueInfo(Value v) throws InvalidProtocolBufferException {
        ValueInfoProto.Builder b = ValueInfoProto.newBuilder().setName(v.name());
        if (v.hasNonTensorType()) {
            b.setType(TypeProto.parseFrom(ProtoBytes.nonTensorType(v)));
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
