package io.onnxslanc.check.inputs;

import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * What to feed a model, in one place for every runtime command (check, probe, compare, --verify): real tensors from
 * files ({@link #inputsDir}), tokenised lines of text ({@link #text} with {@link #tokenizer}), or seeded random inputs
 * shaped by the model's declared inputs, {@link #shapes} ({@code --input-shape NAME=d1,d2,...}) and {@link #dims}
 * ({@code --dim SYMBOL=value}); symbolic batch dims default to {@link #batch}, the others to
 * {@link #sequenceLength}. KV-cache decoders ({@link DecoderLayout}) get consistent ids, mask, positions and a past
 * of {@link #pastLength} (0: empty), and a merged decoder runs both branches. Build with {@link #build(ModelProto)}.
 *
 * @param seed           seed of generated values
 * @param samples        random samples, or most lines of text
 * @param sequenceLength symbolic sequence dims, and the longest text prefix
 * @param batch          symbolic batch dims
 * @param pastLength     past length of a KV-cache decoder (0: empty past); a merged decoder's with-cache branch uses
 *                       it, or the sequence length when it is 0
 * @param shapes         input name -> full shape
 * @param dims           symbolic dim name -> value
 * @param inputsDir      folder of tensor files (then nothing is generated), or null
 * @param text           UTF-8 text to feed line by line, or null
 * @param tokenizer      tokenizer for {@code text}
 * @param idLow          generated ids are uniform in [idLow, idHigh)
 * @param idHigh         <= 0: the rows of the embedding table the ids index (or the logits' width)
 */
public record InputSpec(long seed, int samples, int sequenceLength, int batch, int pastLength, Map<String, long[]> shapes,
                        Map<String, Long> dims, Path inputsDir, Path text, Path tokenizer, long idLow, long idHigh) {

    public InputSpec {
        shapes = Map.copyOf(shapes);
        dims = Map.copyOf(dims);
        if (samples < 1) {
            throw new IllegalArgumentException("--samples must be at least 1, got " + samples);
        }
        if (sequenceLength < 1) {
            throw new IllegalArgumentException("--seq-len must be at least 1, got " + sequenceLength);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batch);
        }
        if (pastLength < 0) {
            throw new IllegalArgumentException("--past-len must be at least 0, got " + pastLength);
        }
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            for (long d : e.getValue()) {
                if (d < 0) {
                    throw new IllegalArgumentException("--input-shape " + e.getKey() + ": dimensions must be >= 0");
                }
            }
        }
        for (Map.Entry<String, Long> e : dims.entrySet()) {
            if (e.getValue() < 0) {
                throw new IllegalArgumentException("--dim " + e.getKey() + ": the value must be >= 0");
            }
        }
        if (text != null && tokenizer == null) {
            throw new IllegalArgumentException("--text needs --tokenizer");
        }
        if (text != null && inputsDir != null) {
            throw new IllegalArgumentException("give either --text or --inputs, not both");
        }
    }

    /** 8 random samples, seed 42, batch 1, sequence 64, empty past. */
    public static InputSpec defaults() {
        return new InputSpec(42, 8, 64, 1, 0, Map.of(), Map.of(), null, null, null, 0, -1);
    }

    public InputSpec withSeed(long s) {
        return new InputSpec(s, samples, sequenceLength, batch, pastLength, shapes, dims, inputsDir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withSamples(int n) {
        return new InputSpec(seed, n, sequenceLength, batch, pastLength, shapes, dims, inputsDir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withSequenceLength(int n) {
        return new InputSpec(seed, samples, n, batch, pastLength, shapes, dims, inputsDir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withBatch(int n) {
        return new InputSpec(seed, samples, sequenceLength, n, pastLength, shapes, dims, inputsDir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withPastLength(int n) {
        return new InputSpec(seed, samples, sequenceLength, batch, n, shapes, dims, inputsDir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withShapes(Map<String, long[]> s) {
        return new InputSpec(seed, samples, sequenceLength, batch, pastLength, s, dims, inputsDir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withDims(Map<String, Long> d) {
        return new InputSpec(seed, samples, sequenceLength, batch, pastLength, shapes, d, inputsDir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withInputsDir(Path dir) {
        return new InputSpec(seed, samples, sequenceLength, batch, pastLength, shapes, dims, dir, text, tokenizer, idLow, idHigh);
    }

    public InputSpec withText(Path textFile, Path tokenizerFile) {
        return new InputSpec(seed, samples, sequenceLength, batch, pastLength, shapes, dims, inputsDir, textFile, tokenizerFile, idLow, idHigh);
    }

    public InputSpec withIdRange(long low, long high) {
        return new InputSpec(seed, samples, sequenceLength, batch, pastLength, shapes, dims, inputsDir, text, tokenizer, low, high);
    }

    /** Parses {@code NAME=d1,d2,...} (the --input-shape spelling). */
    public static Map.Entry<String, long[]> parseShape(String spec) {
        int eq = spec.lastIndexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--input-shape '" + spec + "': expected NAME=d1,d2,... (e.g. input_ids=1,128)");
        }
        String dimsText = spec.substring(eq + 1).strip();
        long[] shape;
        try {
            shape = dimsText.isEmpty() ? new long[0]
                    : java.util.Arrays.stream(dimsText.split("[,x]")).map(String::strip).mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--input-shape '" + spec + "': dimensions must be integers (NAME=d1,d2,...)");
        }
        return Map.entry(spec.substring(0, eq).strip(), shape);
    }

    /** The feeds for this model. */
    public ModelInputs build(ModelProto model) throws IOException {
        List<ValueInfoProto> inputs = realInputs(model.getGraph());
        if (inputsDir != null) {
            return new ModelInputs(TensorFiles.read(inputsDir, inputs), "tensor files in " + inputsDir, false, Map.of());
        }
        Feeds feeds = new Feeds(model, this, inputs);
        Random random = new Random(seed);
        List<Map<String, TensorData>> out = new ArrayList<>();
        String origin;
        if (text == null) {
            for (int s = 0; s < samples; s++) {
                out.addAll(feeds.random(random));
            }
            origin = "seeded random inputs (seed " + seed + ")";
        } else {
            for (Map<String, long[]> ids : TextSamples.read(text, tokenizer, samples, sequenceLength)) {
                out.addAll(fromText(ids, feeds, inputs, random));
            }
            origin = "lines of " + text;
        }
        if (feeds.decoder() != null) {
            origin += feeds.decoder().merged()
                    ? "; merged decoder: each sample on both branches (use_cache_branch false with an empty past, true with a past of "
                    + (pastLength > 0 ? pastLength : sequenceLength) + ")"
                    : "; KV-cache decoder, past length " + pastLength;
        }
        return new ModelInputs(out, origin, true, feeds.dims().used());
    }

    private List<Map<String, TensorData>> fromText(Map<String, long[]> ids, Feeds feeds, List<ValueInfoProto> inputs, Random random) {
        long[] tokens = ids.get(DecoderLayout.INPUT_IDS);
        if (feeds.decoder() != null) {
            return feeds.forIds(TensorData.ofLongs(new long[] {1, tokens.length}, tokens), random);
        }
        Map<String, TensorData> feed = new LinkedHashMap<>();
        for (ValueInfoProto in : inputs) {
            long[] v = ids.get(in.getName());
            if (v == null) {
                throw new IllegalArgumentException(text + ": cannot feed model input '" + in.getName()
                        + "' from text (known: " + ids.keySet() + ")");
            }
            feed.put(in.getName(), TensorData.ofLongs(new long[] {1, v.length}, v));
        }
        return List.of(feed);
    }

    /** The graph inputs that are not initializers (older exports list every weight as an input too). */
    public static List<ValueInfoProto> realInputs(GraphProto g) {
        Set<String> inits = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) {
            inits.add(t.getName());
        }
        return g.getInputList().stream().filter(v -> !inits.contains(v.getName())).toList();
    }
}
