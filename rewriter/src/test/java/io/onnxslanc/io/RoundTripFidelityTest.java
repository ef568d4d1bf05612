package io.onnxslanc.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.FunctionProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TrainingInfoProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** read -> IR -> write keeps everything the IR does not touch, down to unknown fields. */
class RoundTripFidelityTest {
    @TempDir
    Path dir;

    private static StringStringEntryProto kv(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static ValueInfoProto info(String name, int elem, String doc) {
        ValueInfoProto.Builder b = ValueInfoProto.newBuilder().setName(name);
        if (!doc.isEmpty()) {
            b.setDocString(doc);
        }
        return b.setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elem).setShape(TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(4))))).build();
    }

    /** A field number this schema does not define, as a newer ONNX version might write. */
    private static UnknownFieldSet unknown(int field, String value) {
        return UnknownFieldSet.newBuilder().addField(field, UnknownFieldSet.Field.newBuilder()
                .addLengthDelimited(ByteString.copyFromUtf8(value)).build()).build();
    }

    @Test
    void everythingUntouchedSurvives() throws Exception {
        NodeProto relu = NodeProto.newBuilder().setName("relu").setOpType("Relu").addInput("x").addOutput("h")
                .setDocString("node doc").addMetadataProps(kv("node", "meta")).setUnknownFields(unknown(99, "node-x")).build();
        GraphProto body = GraphProto.newBuilder().setName("then")
                .addNode(NodeProto.newBuilder().setOpType("Identity").addInput("h").addOutput("t"))
                .addOutput(info("t", 1, "")).build();
        NodeProto iff = NodeProto.newBuilder().setName("if").setOpType("If").addInput("c").addOutput("y")
                .addAttribute(AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH).setG(body))
                .addAttribute(AttributeProto.newBuilder().setName("else_branch").setType(AttributeProto.AttributeType.GRAPH).setG(body.toBuilder().setName("else")))
                .build();
        NodeProto custom = NodeProto.newBuilder().setName("fn").setOpType("MyFn").setDomain("custom").addInput("y").addOutput("z")
                .addAttribute(AttributeProto.newBuilder().setName("alpha").setType(AttributeProto.AttributeType.FLOAT).setF(0.5f)
                        .setDocString("attr doc"))
                .addAttribute(AttributeProto.newBuilder().setName("tp").setType(AttributeProto.AttributeType.TYPE_PROTO)
                        .setTp(info("q", 10, "").getType())).build();
        TensorProto w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(4).addFloatData(1).addFloatData(2)
                .addFloatData(3).addFloatData(4).setDocString("weight doc").build();
        GraphProto graph = GraphProto.newBuilder().setName("main").setDocString("graph doc")
                .addNode(relu).addNode(iff).addNode(custom)
                .addInitializer(w)
                .addInput(info("x", 1, "input doc")).addInput(info("c", 9, ""))
                .addOutput(info("z", 1, "output doc"))
                .addValueInfo(info("h", 1, "vi doc"))
                .addMetadataProps(kv("graph", "meta"))
                .setUnknownFields(unknown(98, "graph-x")).build();
        FunctionProto fn = FunctionProto.newBuilder().setName("MyFn").setDomain("custom").addInput("a").addOutput("b")
                .addNode(NodeProto.newBuilder().setOpType("Neg").addInput("a").addOutput("b"))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
        TrainingInfoProto training = TrainingInfoProto.newBuilder()
                .setAlgorithm(GraphProto.newBuilder().setName("algo")).addUpdateBinding(kv("w", "w_new")).build();
        ModelProto model = ModelProto.newBuilder().setIrVersion(9).setProducerName("fidelity").setProducerVersion("1")
                .setDomain("test").setModelVersion(7).setDocString("model doc")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("custom").setVersion(1))
                .setGraph(graph).addMetadataProps(kv("author", "me")).addTrainingInfo(training).addFunctions(fn)
                .setUnknownFields(unknown(97, "model-x")).build();

        Path in = dir.resolve("in.onnx");
        Files.write(in, model.toByteArray());
        Path out = dir.resolve("out.onnx");
        ModelWriter.write(ModelReader.read(in), out);
        ModelProto back = ModelProto.parseFrom(Files.readAllBytes(out));

        assertEquals(model.toBuilder().clearGraph().build(), back.toBuilder().clearGraph().build(), "model-level fields");
        GraphProto g = back.getGraph();
        assertEquals(graph.getNodeList(), g.getNodeList(), "nodes, attributes, subgraphs, node doc/metadata/unknown");
        assertEquals(graph.getInitializerList(), g.getInitializerList(), "untouched initializer written as read");
        assertEquals(graph.getInputList(), g.getInputList());
        assertEquals(graph.getOutputList(), g.getOutputList());
        assertEquals(graph.getValueInfoList(), g.getValueInfoList());
        assertEquals(graph.getMetadataPropsList(), g.getMetadataPropsList());
        assertEquals(graph.getUnknownFields(), g.getUnknownFields());
        assertEquals(graph.getDocString(), g.getDocString());
        // and the bytes are stable: writing the copy again gives the same file
        Path again = dir.resolve("again.onnx");
        ModelWriter.write(ModelReader.read(out), again);
        assertEquals(ByteString.copyFrom(Files.readAllBytes(out)), ByteString.copyFrom(Files.readAllBytes(again)));
    }
}
