package io.onnxslanc.check.perplexity;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.tokenize.TextTokenizer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Perplexity of a causal language model ({@code input_ids [1, n] -> logits [1, n, vocab]}) under ONNX Runtime.
 * Log-softmax and the NLL sum are computed in double from the model's logits.
 */
public final class Perplexity implements AutoCloseable {
    static final String LOGITS = "logits";

    private final OrtEnvironment env;
    private final OpenedSession opened;
    private final OrtSession session;
    private final String model;
    private final CausalLmInputs inputs;
    private final String logitsName;

    private Perplexity(OpenedSession opened, String model) throws OrtException {
        this.env = io.onnxslanc.check.ep.OrtLogging.environment();
        this.opened = opened;
        this.session = opened.session();
        this.model = model;
        this.inputs = new CausalLmInputs(session.getInputInfo(), model);
        this.logitsName = logitsOutput(session.getOutputInfo(), model);
    }

    /**
     * Opens {@code source} with {@code factory} ({@link SessionFactory#cpu()} gives BASIC optimisation, so that an
     * FP32 model and its FP16 variant are fused alike); messages name the model by the source's label.
     */
    public static Perplexity open(ModelSource source, SessionFactory factory) throws OrtException {
        return of(factory.open(source), source.label());
    }

    /**
     * Evaluates a session opened elsewhere (e.g. an FP16 emulation) and takes ownership of it, also when this
     * throws; {@code model} names the model in messages.
     */
    public static Perplexity of(OpenedSession opened, String model) throws OrtException {
        try {
            return new Perplexity(opened, model);
        } catch (OrtException | RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    private static String logitsOutput(Map<String, NodeInfo> outputs, String model) {
        if (outputs.containsKey(LOGITS)) {
            return LOGITS;
        }
        if (outputs.size() == 1) {
            return outputs.keySet().iterator().next();
        }
        throw new IllegalArgumentException(model + ": has no output named 'logits' (outputs: "
                + String.join(", ", outputs.keySet()) + ")");
    }

    /** Vocabulary size from the logits' declared last dimension, if it is fixed. */
    public OptionalInt declaredVocab() throws OrtException {
        if (session.getOutputInfo().get(logitsName).getInfo() instanceof TensorInfo info) {
            long[] shape = info.getShape();
            if (shape.length > 0 && shape[shape.length - 1] > 0) {
                return OptionalInt.of(Math.toIntExact(shape[shape.length - 1]));
            }
        }
        return OptionalInt.empty();
    }

    /** Tokenizes {@code text} and evaluates it, with the tokenizer's BOS when it has one and options allow. */
    public PerplexityResult evaluate(TextTokenizer tokenizer, String text, WindowProtocol protocol,
            PerplexityOptions options) throws OrtException {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("text is empty: nothing to score");
        }
        OptionalInt vocab = declaredVocab();
        if (vocab.isPresent()) {
            tokenizer.checkVocab(vocab.getAsInt());
        }
        OptionalInt bos = options.useBos() ? tokenizer.bos() : OptionalInt.empty();
        return evaluate(tokenizer.encode(text), bos, protocol, options);
    }

    /** Evaluates token ids (without BOS; {@code bos} is put in front of every window when present). */
    public PerplexityResult evaluate(int[] tokens, OptionalInt bos, WindowProtocol protocol, PerplexityOptions options)
            throws OrtException {
        int count = options.maxTokens() > 0 ? Math.min(tokens.length, options.maxTokens()) : tokens.length;
        int[] used = Arrays.copyOf(tokens, count);
        checkIds(used, bos);
        List<WindowProtocol.Window> windows = protocol.plan(count, bos.isPresent());
        if (windows.isEmpty()) {
            throw new IllegalArgumentException(String.format("%d token%s: nothing to score%s", count,
                    count == 1 ? "" : "s", bos.isPresent() ? "" : " (without BOS a window needs at least 2 tokens)"));
        }
        double total = 0;
        long scored = 0;
        double[] perWindow = new double[windows.size()];
        for (int w = 0; w < windows.size(); w++) {
            perWindow[w] = options.kvCache() ? cachedWindowNll(used, windows.get(w), bos, w) : windowNll(used, windows.get(w), bos, w);
            total += perWindow[w];
            scored += windows.get(w).scored();
        }
        String description = protocol.describe() + (options.kvCache() ? ", token by token through the KV cache" : "") + (bos.isPresent() ? ", BOS " + bos.getAsInt() + " prepended"
                : ", no BOS") + (options.maxTokens() > 0 ? ", first " + count + " tokens" : ", " + count + " tokens");
        return new PerplexityResult(Math.exp(total / scored), scored, windows.size(), description, total,
                options.keepWindowNll() ? perWindow : new double[0]);
    }

    /** Ids outside a fixed vocabulary would fail deep inside ONNX Runtime (Gather); say so plainly instead. */
    private void checkIds(int[] tokens, OptionalInt bos) throws OrtException {
        OptionalInt vocab = declaredVocab();
        if (vocab.isEmpty()) {
            return; // checked per target once the logits show the vocabulary
        }
        for (int i = -1; i < tokens.length; i++) {
            int id = i < 0 ? bos.orElse(0) : tokens[i];
            if (id < 0 || id >= vocab.getAsInt()) {
                throw new IllegalArgumentException(String.format("%s: %s id %d is outside the model's vocabulary of"
                        + " %d; use the tokenizer the model was trained with", model, i < 0 ? "BOS" : "token", id,
                        vocab.getAsInt()));
            }
        }
    }

    /**
     * With BOS the input is BOS + tokens[start, end - 1): logits at position p predict tokens[start + p], and the
     * last window token is never an input. Without BOS the input is tokens[start, end) and position p predicts
     * tokens[start + p + 1].
     */
    private double windowNll(int[] tokens, WindowProtocol.Window window, OptionalInt bos, int index)
            throws OrtException {
        int n = window.length();
        long[] ids = new long[n];
        int shift = bos.isPresent() ? 1 : 0;
        if (bos.isPresent()) {
            ids[0] = bos.getAsInt();
        }
        for (int i = shift; i < n; i++) {
            ids[i] = tokens[window.start() + i - shift];
        }
        Map<String, OnnxTensor> feeds = inputs.create(env, ids);
        try (OrtSession.Result result = session.run(feeds, Set.of(logitsName))) {
            Logits logits = Logits.of(result.get(logitsName), n, model, logitsName);
            double nll = 0;
            for (int target = window.firstScored(); target < window.end(); target++) {
                int position = target - window.start() - 1 + shift;
                nll += logits.nll(position, tokens[target], model);
            }
            return nll;
        } catch (OrtException e) {
            throw new IllegalStateException(String.format("%s: ONNX Runtime failed on window %d (tokens %d..%d, %d"
                    + " input positions): %s", model, index, window.start(), window.end() - 1, n, e.getMessage()), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * The same window fed one token at a time: step p gets token p, a past of length p (the present outputs of step
     * p - 1, fed back by name: present.0.key -> past_key_values.0.key) and a mask of p + 1 ones. Equal to
     * {@link #windowNll} when the model's cache is right.
     */
    private double cachedWindowNll(int[] tokens, WindowProtocol.Window window, OptionalInt bos, int index)
            throws OrtException {
        Map<String, String> presentToPast = presentToPast();
        int n = window.length();
        int shift = bos.isPresent() ? 1 : 0;
        Set<String> wanted = new java.util.LinkedHashSet<>(presentToPast.keySet());
        wanted.add(logitsName);
        OrtSession.Result previous = null;
        Map<String, OnnxTensor> past = Map.of();
        double nll = 0;
        try {
            for (int p = 0; p < n; p++) {
                long id = p < shift ? bos.getAsInt() : tokens[window.start() + p - shift];
                Map<String, OnnxTensor> feeds = inputs.create(env, new long[] {id}, p, past);
                OrtSession.Result result;
                try {
                    result = session.run(feeds, wanted);
                } finally {
                    CausalLmInputs.closeCreated(feeds, past);
                }
                if (previous != null) {
                    previous.close(); // its presents were this step's past
                }
                previous = result;
                int target = window.start() + p + 1 - shift;
                if (target >= window.firstScored() && target < window.end()) {
                    nll += Logits.of(result.get(logitsName), 1, model, logitsName).nll(0, tokens[target], model);
                }
                Map<String, OnnxTensor> next = new java.util.HashMap<>();
                for (Map.Entry<String, String> e : presentToPast.entrySet()) {
                    next.put(e.getValue(), (OnnxTensor) result.get(e.getKey()).orElseThrow());
                }
                past = next;
            }
            return nll;
        } catch (OrtException e) {
            throw new IllegalStateException(String.format("%s: ONNX Runtime failed on window %d (tokens %d..%d) fed token"
                    + " by token through the KV cache: %s", model, index, window.start(), window.end() - 1, e.getMessage()), e);
        } finally {
            if (previous != null) {
                previous.close();
            }
        }
    }

    /** Present output -> past input, for every past input; a model without a complete cache cannot be fed so. */
    private Map<String, String> presentToPast() throws OrtException {
        List<String> pastInputs = inputs.pastInputs();
        if (pastInputs.isEmpty()) {
            throw new IllegalArgumentException(model + ": has no past key/value inputs; --kv-cache needs a decoder with a KV cache");
        }
        io.onnxslanc.check.inputs.DecoderLayout layout =
                new io.onnxslanc.check.inputs.DecoderLayout(CausalLmInputs.INPUT_IDS, null, null, null, null, pastInputs);
        Map<String, String> map = new java.util.LinkedHashMap<>();
        for (String out : session.getOutputNames()) {
            layout.pastFor(out).ifPresent(p -> map.put(out, p));
        }
        if (!new java.util.HashSet<>(map.values()).containsAll(pastInputs)) {
            List<String> missing = pastInputs.stream().filter(p -> !map.containsValue(p)).toList();
            throw new IllegalArgumentException(model + ": no present output feeds past input(s) " + missing
                    + " (outputs: " + String.join(", ", session.getOutputNames()) + ")");
        }
        return map;
    }

    /** A [1, n, vocab] logits tensor read as floats (FP16/BF16 are widened by ONNX Runtime) or doubles. */
    private static final class Logits {
        private final FloatBuffer floats;
        private final DoubleBuffer doubles;
        private final int vocab;

        private Logits(FloatBuffer floats, DoubleBuffer doubles, int vocab) {
            this.floats = floats;
            this.doubles = doubles;
            this.vocab = vocab;
        }

        static Logits of(Optional<OnnxValue> value, int positions, String model, String name) {
            if (value.isEmpty() || !(value.get() instanceof OnnxTensor tensor)) {
                throw new IllegalStateException(model + ": output '" + name + "' is not a tensor");
            }
            TensorInfo info = tensor.getInfo();
            long[] shape = info.getShape();
            if (shape.length != 3 || shape[0] != 1 || shape[1] != positions || shape[2] < 1) {
                throw new IllegalStateException(String.format("%s: output '%s' has shape %s; expected [1, %d, vocab]",
                        model, name, Arrays.toString(shape), positions));
            }
            int vocab = Math.toIntExact(shape[2]);
            if (info.type == OnnxJavaType.DOUBLE) {
                return new Logits(null, tensor.getDoubleBuffer(), vocab);
            }
            FloatBuffer floats = tensor.getFloatBuffer();
            if (floats == null) {
                throw new IllegalStateException(model + ": output '" + name + "' has element type " + info.type
                        + "; expected a floating-point type");
            }
            return new Logits(floats, null, vocab);
        }

        private double get(int index) {
            return floats != null ? floats.get(index) : doubles.get(index);
        }

        /** -log softmax(logits[position])[target], in double. */
        double nll(int position, int target, String model) {
            if (target < 0 || target >= vocab) {
                throw new IllegalArgumentException(String.format("%s: token id %d is outside the model's vocabulary"
                        + " of %d; use the tokenizer the model was trained with", model, target, vocab));
            }
            int base = position * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, get(base + v));
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) {
                sum += Math.exp(get(base + v) - max);
            }
            return max + Math.log(sum) - get(base + target);
        }
    }

    /** Closes the session and its options. */
    @Override
    public void close() {
        opened.close();
    }
}
