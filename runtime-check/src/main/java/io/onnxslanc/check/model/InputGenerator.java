package io.onnxslanc.check.model;

import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Seeded inputs from a model's declared inputs: token ids uniform in [idLow, idHigh) (idHigh defaults to the rows
 * of the embedding table the ids index), attention masks 1, token type ids 0, position ids 0..n-1, floats N(0, 1).
 * A symbolic dimension named *batch* or in first position is the batch, the others the sequence length.
 */
public final class InputGenerator {
    private InputGenerator() {}

    /** idHigh <= 0: take the vocabulary size from the model's embedding table. */
    public record Options(long seed, int batch, int sequenceLength, long idLow, long idHigh) {
        public static Options defaults() {
            return new Options(42, 1, 16, 0, -1);
        }
    }

    public static List<Map<String, TensorData>> generate(ModelProto model, Options o, int samples) {
        Random random = new Random(o.seed());
        List<Map<String, TensorData>> out = new ArrayList<>();
        for (int s = 0; s < samples; s++) {
            Map<String, TensorData> feed = new LinkedHashMap<>();
            for (ValueInfoProto in : realInputs(model.getGraph())) feed.put(in.getName(), generate(model, in, o, random));
            out.add(feed);
        }
        return out;
    }

    /** Rows of the embedding table that a Gather indexes with this input, or -1. */
    public static long vocabSize(ModelProto model, String inputName) {
        Map<String, TensorProto> inits = new LinkedHashMap<>();
        for (TensorProto t : model.getGraph().getInitializerList()) inits.put(t.getName(), t);
        for (NodeProto n : model.getGraph().getNodeList()) {
            if (n.getOpType().equals("Gather") && n.getInputCount() == 2 && n.getInput(1).equals(inputName)) {
                TensorProto table = inits.get(n.getInput(0));
                if (table != null && table.getDimsCount() == 2) return table.getDims(0);
            }
        }
        return -1;
    }

    /** Largest vocabulary over the integer inputs, or -1. */
    public static long vocabSize(ModelProto model) {
        long v = -1;
        for (ValueInfoProto in : realInputs(model.getGraph())) v = Math.max(v, vocabSize(model, in.getName()));
        return v;
    }

    private static List<ValueInfoProto> realInputs(GraphProto g) {
        Set<String> inits = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) inits.add(t.getName());
        return g.getInputList().stream().filter(v -> !inits.contains(v.getName())).toList();
    }

    private static TensorData generate(ModelProto model, ValueInfoProto in, Options o, Random random) {
        String name = in.getName();
        if (!in.getType().hasTensorType())
            throw new IllegalArgumentException("input '" + name + "' is not a tensor; give its values explicitly");
        long[] shape = shape(in, o);
        int n = Math.toIntExact(TensorData.elementCount(shape));
        int type = in.getType().getTensorType().getElemType();
        String lower = name.toLowerCase(Locale.ROOT);
        if (type == DataType.FLOAT_VALUE || type == DataType.FLOAT16_VALUE || type == DataType.DOUBLE_VALUE || type == DataType.BFLOAT16_VALUE) {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) f[i] = (float) random.nextGaussian();
            return TensorData.ofFloats(shape, f);
        }
        long[] v = new long[n];
        if (lower.contains("mask") || type == DataType.BOOL_VALUE) {
            java.util.Arrays.fill(v, 1);
        } else if (lower.contains("token_type") || lower.contains("segment")) {
            java.util.Arrays.fill(v, 0);
        } else if (lower.contains("position")) {
            long last = shape.length == 0 ? 1 : shape[shape.length - 1];
            for (int i = 0; i < n; i++) v[i] = i % last;
        } else {
            long high = o.idHigh() > 0 ? o.idHigh() : vocabSize(model, name);
            if (high <= o.idLow())
                throw new IllegalArgumentException("input '" + name + "' takes integer ids but no id range was given and no embedding "
                        + "table indexed by it was found; give the id range (vocabulary size) explicitly");
            for (int i = 0; i < n; i++) v[i] = o.idLow() + (long) (random.nextDouble() * (high - o.idLow()));
        }
        return TensorData.ofLongs(shape, v);
    }

    /** Symbolic dims: named *batch* or at position 0 -> batch; the others -> sequence length. */
    private static long[] shape(ValueInfoProto in, Options o) {
        List<TensorShapeProto.Dimension> dims = in.getType().getTensorType().getShape().getDimList();
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            TensorShapeProto.Dimension d = dims.get(i);
            if (d.hasDimValue() && d.getDimValue() > 0) shape[i] = d.getDimValue();
            else {
                String param = d.getDimParam().toLowerCase(Locale.ROOT);
                boolean batch = param.contains("batch") || (i == 0 && !param.contains("seq") && !param.contains("len"));
                shape[i] = batch ? o.batch() : o.sequenceLength();
            }
        }
        return shape;
    }
}
