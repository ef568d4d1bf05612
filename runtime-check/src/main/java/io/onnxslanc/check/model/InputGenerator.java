package io.onnxslanc.check.model;

import io.onnxslanc.check.inputs.InputSpec;
import io.onnxslanc.check.inputs.Vocab;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * Seeded inputs from a model's declared inputs, the short form of {@link InputSpec} (which holds the rules: token
 * ids uniform in the id range, masks 1, token type ids 0, positions 0..n-1, floats N(0, 1), consistent KV-cache
 * decoder inputs). A symbolic dimension named *batch* or in first position is the batch, the others the sequence
 * length.
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
        InputSpec spec = InputSpec.defaults().withSeed(o.seed()).withBatch(o.batch()).withSequenceLength(o.sequenceLength())
                .withIdRange(o.idLow(), o.idHigh()).withSamples(samples);
        try {
            return spec.build(model).feeds();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // nothing is read from files here
        }
    }

    /** Rows of the embedding table that a Gather indexes with this input, or -1. */
    public static long vocabSize(ModelProto model, String inputName) {
        return Vocab.of(model, inputName);
    }

    /** Largest vocabulary over the integer inputs, or -1. */
    public static long vocabSize(ModelProto model) {
        long v = -1;
        for (ValueInfoProto in : InputSpec.realInputs(model.getGraph())) v = Math.max(v, vocabSize(model, in.getName()));
        return v;
    }
}
