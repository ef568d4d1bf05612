package io.onnxslanc.check.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Element type and shape of every node output, as ONNX Runtime's own type and shape inference sees them:
 * every node output is declared a graph output (without a type) and a session is made without optimisation.
 * This covers contrib ops (com.microsoft) that a hand-written inference would not know.
 */
public final class OrtTypeInference {
    private OrtTypeInference() {}

    public static Map<String, OrtTensorType> infer(ModelProto model) {
        GraphProto.Builder g = model.getGraph().toBuilder();
        Set<String> declared = new LinkedHashSet<>();
        for (ValueInfoProto o : g.getOutputList()) declared.add(o.getName());
        for (NodeProto n : g.getNodeList())
            for (String out : n.getOutputList())
                if (!out.isEmpty() && declared.add(out)) g.addOutput(ValueInfoProto.newBuilder().setName(out));
        byte[] bytes = model.toBuilder().setGraph(g).build().toByteArray();
        Map<String, OrtTensorType> types = new HashMap<>();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            io.onnxslanc.check.ep.OrtLogging.apply(o);
            try (OrtSession s = io.onnxslanc.check.ep.OrtLogging.environment().createSession(bytes, o)) {
                collect(s.getInputInfo(), types);
                collect(s.getOutputInfo(), types);
            }
        } catch (OrtException e) {
            throw new IllegalArgumentException("ONNX Runtime cannot infer the tensor types of the model: " + e.getMessage(), e);
        }
        return types;
    }

    private static void collect(Map<String, NodeInfo> infos, Map<String, OrtTensorType> into) {
        for (Map.Entry<String, NodeInfo> e : infos.entrySet())
            if (e.getValue().getInfo() instanceof TensorInfo t) into.put(e.getKey(), new OrtTensorType(dataType(t), t.getShape()));
    }

    /** The TensorProto.DataType number (the Java enum's own numbering differs from ONNX's). */
    public static int dataType(TensorInfo t) {
        String name = t.onnxType.name().substring("ONNX_TENSOR_ELEMENT_DATA_TYPE_".length());
        return io.onnxslanc.proto.Onnx.TensorProto.DataType.valueOf(name).getNumber();
    }
}
