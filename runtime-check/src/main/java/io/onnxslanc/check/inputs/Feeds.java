package io.onnxslanc.check.inputs;

import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto.DataType;
import io.onnxslanc.proto.Onnx.TensorShapeProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Seeded feeds for one model. Generic inputs: token ids uniform in the id range, attention masks and bools 1,
 * token type ids 0, position ids 0..n-1, floats N(0, 1). A KV-cache decoder gets consistent inputs: ids
 * [batch, seq], a past of length P (N(0, 1) keys and values; P = 0 is an empty past), an attention mask of P + seq
 * ones, positions P..P+seq-1; a merged decoder runs once per branch (use_cache_branch false with an empty past, true
 * with a past).
 */
final class Feeds {
    private final ModelProto model;
    private final InputSpec spec;
    private final List<ValueInfoProto> inputs;
    private final Dims dims;
    private final DecoderLayout decoder;

    Feeds(ModelProto model, InputSpec spec, List<ValueInfoProto> inputs) {
        this.model = model;
        this.spec = spec;
        this.inputs = inputs;
        this.dims = new Dims(spec, inputs);
        this.decoder = DecoderLayout.of(inputs).orElse(null);
    }

    DecoderLayout decoder() {
        return decoder;
    }

    Dims dims() {
        return dims;
    }

    /** One random sample: one feed, or one per branch of a merged decoder. */
    List<Map<String, TensorData>> random(Random random) {
        if (decoder == null) {
            Map<String, TensorData> feed = new LinkedHashMap<>();
            for (ValueInfoProto in : inputs) {
                feed.put(in.getName(), generic(in, dims.shape(in), random));
            }
            return List.of(feed);
        }
        ValueInfoProto ids = input(decoder.inputIds());
        long[] shape = dims.shape(ids);
        if (shape.length != 2) {
            throw new IllegalArgumentException("input '" + ids.getName() + "' of a decoder should be [batch, sequence], "
                    + "it is " + Dims.describe(ids));
        }
        return forIds(randomIds(ids, shape, random), random);
    }

    /** The decoder feeds for these token ids ([batch, seq]): one, or one per branch of a merged decoder. */
    List<Map<String, TensorData>> forIds(TensorData ids, Random random) {
        if (decoder.merged()) {
            int truePast = spec.pastLength() > 0 ? spec.pastLength() : spec.sequenceLength();
            return List.of(decoderFeed(ids, 0, false, random), decoderFeed(ids, truePast, true, random));
        }
        return List.of(decoderFeed(ids, spec.pastLength(), false, random));
    }

    private Map<String, TensorData> decoderFeed(TensorData ids, int past, boolean useCache, Random random) {
        long batch = ids.shape()[0], seq = ids.shape()[1];
        Map<String, TensorData> feed = new LinkedHashMap<>();
        for (ValueInfoProto in : inputs) {
            String name = in.getName();
            TensorData value = switch (DecoderLayout.role(name)) {
                case INPUT_IDS -> ids;
                case ATTENTION_MASK -> Dims.declared(in).size() == 2 ? filled(new long[] {batch, past + seq}, 1) : null;
                case POSITION_IDS -> positions(in, batch, seq, past);
                case CACHE_POSITION -> positions(in, 1, seq, past);
                case USE_CACHE_BRANCH -> TensorData.ofLongs(Dims.declared(in).isEmpty() ? new long[0] : new long[] {1},
                        new long[] {useCache ? 1 : 0});
                case PAST -> past(in, batch, past, random);
                case OTHER -> null;
            };
            feed.put(name, value != null ? value : generic(in, dims.shape(in), random));
        }
        return feed;
    }

    private TensorData positions(ValueInfoProto in, long batch, long seq, long past) {
        int rank = Dims.declared(in).size();
        long[] shape = rank == 1 ? new long[] {seq} : new long[] {batch, seq};
        long[] v = new long[Math.toIntExact(TensorData.elementCount(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = past + i % seq;
        }
        return TensorData.ofLongs(shape, v);
    }

    /** Fixed dims as declared; symbolic ones are the batch (by name or first position) or the past length. */
    private TensorData past(ValueInfoProto in, long batch, long past, Random random) {
        int type = in.getType().getTensorType().getElemType();
        if (!isFloat(type)) {
            throw new IllegalArgumentException("past input '" + in.getName() + "' " + Dims.describe(in)
                    + " is not a floating-point tensor; give it with --inputs");
        }
        List<TensorShapeProto.Dimension> declared = Dims.declared(in);
        long[] shape = new long[declared.size()];
        for (int i = 0; i < shape.length; i++) {
            TensorShapeProto.Dimension d = declared.get(i);
            if (d.hasDimValue() && d.getDimValue() > 0) {
                shape[i] = d.getDimValue();
            } else if (Dims.isBatch(d.getDimParam(), i) && !d.getDimParam().toLowerCase(Locale.ROOT).contains("past")) {
                shape[i] = batch;
                dims.record(d.getDimParam(), batch);
            } else {
                shape[i] = past;
                dims.record(d.getDimParam(), past);
            }
        }
        return gaussian(shape, random);
    }

    private TensorData randomIds(ValueInfoProto in, long[] shape, Random random) {
        long high = spec.idHigh() > 0 ? spec.idHigh() : Vocab.of(model, in.getName());
        if (high <= spec.idLow()) {
            throw new IllegalArgumentException("input '" + in.getName() + "' takes integer ids but no id range was given "
                    + "and no embedding table indexed by it was found; give the id range (vocabulary size) explicitly");
        }
        long[] v = new long[Math.toIntExact(TensorData.elementCount(shape))];
        for (int i = 0; i < v.length; i++) {
            v[i] = spec.idLow() + (long) (random.nextDouble() * (high - spec.idLow()));
        }
        return TensorData.ofLongs(shape, v);
    }

    private TensorData generic(ValueInfoProto in, long[] shape, Random random) {
        String name = in.getName();
        if (!in.getType().hasTensorType()) {
            throw new IllegalArgumentException("input '" + name + "' is not a tensor; give its values with --inputs");
        }
        int type = in.getType().getTensorType().getElemType();
        String lower = name.toLowerCase(Locale.ROOT);
        if (isFloat(type)) {
            return gaussian(shape, random);
        }
        if (lower.contains("mask") || type == DataType.BOOL_VALUE) {
            return filled(shape, 1);
        }
        if (lower.contains("token_type") || lower.contains("segment")) {
            return filled(shape, 0);
        }
        if (lower.contains("position")) {
            long last = shape.length == 0 ? 1 : shape[shape.length - 1];
            long[] v = new long[Math.toIntExact(TensorData.elementCount(shape))];
            for (int i = 0; i < v.length; i++) {
                v[i] = i % last;
            }
            return TensorData.ofLongs(shape, v);
        }
        return randomIds(in, shape, random);
    }

    private static boolean isFloat(int type) {
        return type == DataType.FLOAT_VALUE || type == DataType.FLOAT16_VALUE || type == DataType.DOUBLE_VALUE
                || type == DataType.BFLOAT16_VALUE;
    }

    private static TensorData gaussian(long[] shape, Random random) {
        float[] f = new float[Math.toIntExact(TensorData.elementCount(shape))];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) random.nextGaussian();
        }
        return TensorData.ofFloats(shape, f);
    }

    private static TensorData filled(long[] shape, long value) {
        long[] v = new long[Math.toIntExact(TensorData.elementCount(shape))];
        Arrays.fill(v, value);
        return TensorData.ofLongs(shape, v);
    }

    private ValueInfoProto input(String name) {
        for (ValueInfoProto in : inputs) {
            if (in.getName().equals(name)) {
                return in;
            }
        }
        throw new IllegalStateException("no input " + name);
    }

    static List<Map<String, TensorData>> flatten(List<List<Map<String, TensorData>>> nested) {
        List<Map<String, TensorData>> out = new ArrayList<>();
        nested.forEach(out::addAll);
        return out;
    }
}
