package io.onnxslanc.check.perplexity;

import ai.onnxruntime.platform.Fp16Conversions;
import com.google.protobuf.ByteString;
import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.TypeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Tiny "language models" whose perplexity can be computed by hand: logits[p] = bigram[input_ids[p]], optionally
 * + positional[position_ids[p]], times attention_mask, + sum(past key) (0 when fed empty).
 */
final class BigramModels {
    static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    static final int FLOAT16 = TensorProto.DataType.FLOAT16_VALUE;
    static final int INT64 = TensorProto.DataType.INT64_VALUE;
    static final int INT32 = TensorProto.DataType.INT32_VALUE;

    private BigramModels() {
    }

    /** input_ids -> Gather(bigram) -> logits. */
    static ModelProto plain(float[][] bigram, int idType) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("bigram")
                .addInput(input("input_ids", idType, "batch", "sequence"))
                .addInitializer(table("bigram", bigram, FLOAT))
                .addNode(node("Gather", new String[] {"bigram", "input_ids"}, "logits"))
                .addOutput(input("logits", FLOAT, "batch", "sequence", bigram.length));
        return model(g);
    }

    /** Like a real decoder export: input_ids, attention_mask, position_ids and one past key input. */
    static ModelProto withDecoderInputs(float[][] bigram, float[][] positional, int floatType) {
        int kvHeads = 2;
        int headDim = 4;
        GraphProto.Builder g = GraphProto.newBuilder().setName("bigram_decoder")
                .addInput(input("input_ids", INT64, "batch_size", "sequence_length"))
                .addInput(input("attention_mask", INT64, "batch_size", "total_sequence_length"))
                .addInput(input("position_ids", INT64, "batch_size", "sequence_length"))
                .addInput(input("past_key_values.0.key", floatType, "batch_size", kvHeads, "past_sequence_length",
                        headDim))
                .addInitializer(table("bigram", bigram, floatType))
                .addInitializer(table("positional", positional, floatType))
                .addInitializer(longs("last_axis", -1))
                .addNode(node("Gather", new String[] {"bigram", "input_ids"}, "from_previous"))
                .addNode(node("Gather", new String[] {"positional", "position_ids"}, "from_position"))
                .addNode(node("Add", new String[] {"from_previous", "from_position"}, "unmasked"))
                .addNode(node("Cast", new String[] {"attention_mask"}, "mask")
                        .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                                .setI(floatType)))
                .addNode(node("Unsqueeze", new String[] {"mask", "last_axis"}, "mask3"))
                .addNode(node("Mul", new String[] {"unmasked", "mask3"}, "masked"))
                .addNode(node("ReduceSum", new String[] {"past_key_values.0.key"}, "past_sum")
                        .addAttribute(AttributeProto.newBuilder().setName("keepdims").setType(AttributeProto.AttributeType.INT)
                                .setI(0)))
                .addNode(node("Add", new String[] {"masked", "past_sum"}, "logits"))
                .addOutput(input("logits", floatType, "batch_size", "sequence_length", bigram.length));
        return model(g);
    }

    /** The plain model with one more input that a perplexity tool cannot know how to fill. */
    static ModelProto withImageInput(float[][] bigram) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("bigram_vision")
                .addInput(input("input_ids", INT64, "batch", "sequence"))
                .addInput(input("pixel_values", FLOAT, "batch", 3, 8, 8))
                .addInitializer(table("bigram", bigram, FLOAT))
                .addNode(node("Gather", new String[] {"bigram", "input_ids"}, "logits"))
                .addNode(node("Identity", new String[] {"pixel_values"}, "pixels_out"))
                .addOutput(input("logits", FLOAT, "batch", "sequence", bigram.length))
                .addOutput(input("pixels_out", FLOAT, "batch", 3, 8, 8));
        return model(g);
    }

    private static ModelProto model(GraphProto.Builder graph) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("onnx-slanc-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(graph).build();
    }

    private static NodeProto.Builder node(String op, String[] inputs, String output) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(output + "_" + op).addOutput(output);
        for (String in : inputs) {
            n.addInput(in);
        }
        return n;
    }

    /** dims: Integer for fixed sizes, String for symbolic ones. */
    private static ValueInfoProto input(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Integer i) {
                dim.setDimValue(i);
            } else {
                dim.setDimParam((String) d);
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))).build();
    }

    private static TensorProto table(String name, float[][] rows, int type) {
        int cols = rows[0].length;
        int width = type == FLOAT16 ? 2 : 4;
        ByteBuffer raw = ByteBuffer.allocate(rows.length * cols * width).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] row : rows) {
            for (float v : row) {
                if (type == FLOAT16) {
                    raw.putShort(Fp16Conversions.floatToFp16(v));
                } else {
                    raw.putFloat(v);
                }
            }
        }
        return TensorProto.newBuilder().setName(name).setDataType(type).addDims(rows.length).addDims(cols)
                .setRawData(ByteString.copyFrom(raw.array())).build();
    }

    private static TensorProto longs(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(INT64).addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }
}
