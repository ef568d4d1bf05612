package io.onnxslanc.samples.llama;

import static io.onnxslanc.samples.llama.GraphBuilder.floatAttr;
import static io.onnxslanc.samples.llama.GraphBuilder.in;
import static io.onnxslanc.samples.llama.GraphBuilder.intAttr;
import static io.onnxslanc.samples.llama.GraphBuilder.intsAttr;

import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.OperatorSetIdProto;
import io.onnxslanc.proto.Onnx.StringStringEntryProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes the llama2.c forward pass as an ONNX graph (opset 17): input_ids [batch, seq] -> logits
 * [batch, seq, vocab], with RoPE on interleaved pairs, causal grouped-query attention and a SwiGLU
 * MLP. Weights are requested from a {@link LlamaWeights} one tensor at a time, in graph order, and
 * handed straight to the {@link InitializerStore}, so a large model never sits in memory.
 */
final class LlamaGraphBuilder {

    static final int OPSET = 17;
    /** IR version 8 goes with opset 17. */
    static final long IR_VERSION = 8;
    static final String MS_DOMAIN = "com.microsoft";
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    private static final int INT64 = TensorProto.DataType.INT64_VALUE;

    private final LlamaConfig c;
    private final ImportOptions opts;
    private final LlamaWeights weights;
    private final GraphBuilder g;
    private final int hs;
    /** present.* outputs on a graph without past inputs (the no-cache branch of a merged decoder). */
    private final boolean presentWithoutPast;

    // shared by all layers
    private String cos, sin, blocked, negInf;

    private LlamaGraphBuilder(LlamaWeights weights, ImportOptions opts, InitializerStore store, boolean presentWithoutPast) {
        this.presentWithoutPast = presentWithoutPast && !opts.pastKeyValues();
        this.c = weights.config().validated();
        this.opts = opts;
        this.weights = weights;
        this.g = new GraphBuilder("llama", store);
        this.hs = c.headSize();
    }

    static ModelProto build(LlamaWeights weights, ImportOptions opts, InitializerStore store,
                            String docString, Map<String, String> metadata) throws IOException {
        LlamaGraphBuilder b = new LlamaGraphBuilder(weights, opts, store, false);
        b.graph();
        return model(b.g.build(), opts, describe(b.c, opts), docString, metadata);
    }

    /** A model around graph: IR version, opsets (com.microsoft for FUSED), doc string, metadata. */
    static ModelProto model(GraphProto graph, ImportOptions opts, Map<String, String> description,
                            String docString, Map<String, String> metadata) {
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("onnx-slanc")
                .setProducerVersion("0.1.0")
                .setDocString(docString)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET));
        if (opts.normStyle() == NormStyle.FUSED) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
        }
        Map<String, String> props = new LinkedHashMap<>(description);
        props.putAll(metadata);
        props.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.setGraph(graph).build();
    }

    /**
     * The decoder graph alone: with opts' past inputs, or without them but still with present.*
     * outputs (the keys and values of this call) when presentWithoutPast is set, the two graphs a
     * merged decoder holds as its branches.
     */
    static GraphProto decoderGraph(LlamaWeights weights, ImportOptions opts, InitializerStore store,
                                   boolean presentWithoutPast) throws IOException {
        LlamaGraphBuilder b = new LlamaGraphBuilder(weights, opts, store, presentWithoutPast);
        b.graph();
        return b.g.build();
    }

    /** The shape and options, as model metadata (read by tools that need the architecture). */
    static Map<String, String> describe(LlamaConfig c, ImportOptions o) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("architecture", "llama");
        p.put("llama.dim", Integer.toString(c.dim()));
        p.put("llama.hidden_dim", Integer.toString(c.hiddenDim()));
        p.put("llama.n_layers", Integer.toString(c.nLayers()));
        p.put("llama.n_heads", Integer.toString(c.nHeads()));
        p.put("llama.n_kv_heads", Integer.toString(c.nKvHeads()));
        p.put("llama.vocab_size", Integer.toString(c.vocabSize()));
        p.put("llama.max_seq_len", Integer.toString(c.maxSeqLen()));
        p.put("llama.shared_classifier", Boolean.toString(c.sharedClassifier()));
        p.put("llama.rope_theta", Double.toString(o.ropeTheta()));
        p.put("llama.norm_epsilon", Float.toString(o.epsilon()));
        p.put("llama.norm_style", o.normStyle().name());
        p.put("llama.past_key_values", Boolean.toString(o.pastKeyValues()));
        return p;
    }

    private String weight(LlamaTensor t, int layer) throws IOException {
        TensorValues v = weights.values(t, layer);
        long[] expected = t.onnxDims(c);
        if (!Arrays.equals(v.dims(), expected)) {
            throw new IllegalStateException(t.onnxName(layer) + " has dims " + Arrays.toString(v.dims())
                    + ", expected " + Arrays.toString(expected));
        }
        return g.initializer(t.onnxName(layer), v);
    }

    private void graph() throws IOException {
        String ids = "input_ids";
        g.input(ids, INT64, "batch", "seq");
        if (opts.pastKeyValues()) {
            for (int i = 0; i < c.nLayers(); i++) {
                g.input(pastName(i, "key"), FLOAT, "batch", (long) c.nKvHeads(), "past_seq", (long) hs);
                g.input(pastName(i, "value"), FLOAT, "batch", (long) c.nKvHeads(), "past_seq", (long) hs);
            }
        }
        g.output("logits", FLOAT, "batch", "seq", (long) c.vocabSize());
        if (opts.pastKeyValues() || presentWithoutPast) {
            for (int i = 0; i < c.nLayers(); i++) {
                g.output(presentName(i, "key"), FLOAT, "batch", (long) c.nKvHeads(), "total_seq", (long) hs);
                g.output(presentName(i, "value"), FLOAT, "batch", (long) c.nKvHeads(), "total_seq", (long) hs);
            }
        }

        String embedding = weight(LlamaTensor.TOKEN_EMBEDDING, 0);
        g.enter("embed_tokens");
        String x = g.op("Gather", in(embedding, ids), intAttr("axis", 0));
        g.exit();

        positions(ids);
        for (int i = 0; i < c.nLayers(); i++) {
            x = layer(i, x);
        }

        g.enter("norm");
        String xn = norm(x, weight(LlamaTensor.FINAL_NORM, 0));
        g.exit();
        g.enter("output");
        String classifier = c.sharedClassifier()
                ? g.op("Transpose", in(embedding), intsAttr("perm", 1, 0))
                : weight(LlamaTensor.CLASSIFIER, 0);
        g.opNamed("MatMul", "", in(xn, classifier), in("logits"));
        g.exit();
    }

    static String pastName(int layer, String kind) {
        return "past_key_values." + layer + "." + kind;
    }

    static String presentName(int layer, String kind) {
        return "present." + layer + "." + kind;
    }

    /** RoPE cos/sin rows for positions past_len .. past_len+seq-1, and the causal mask. */
    private void positions(String ids) throws IOException {
        g.enter("rotary_emb");
        String seqLen = g.op("Shape", in(ids), intAttr("start", 1), intAttr("end", 2));
        String pastLen = opts.pastKeyValues()
                ? g.op("Shape", in(pastName(0, "key")), intAttr("start", 2), intAttr("end", 3))
                : g.constantInts(0);
        String totalLen = g.op("Add", in(pastLen, seqLen));
        String cosTable = g.initializer("rope.cos", ropeTable(true));
        String sinTable = g.initializer("rope.sin", ropeTable(false));
        String axis0 = g.constantInts(0);
        // [seq, 1, head_size/2, 1]: broadcasts over batch and heads against [batch, seq, heads, head_size/2, 1]
        String bshape = g.constantInts(-1, 1, hs / 2, 1);
        cos = g.op("Reshape", in(g.op("Slice", in(cosTable, pastLen, totalLen, axis0)), bshape));
        sin = g.op("Reshape", in(g.op("Slice", in(sinTable, pastLen, totalLen, axis0)), bshape));
        g.exit();

        g.enter("causal_mask");
        String pastScalar = g.op("Squeeze", in(pastLen, g.constantInts(0)));
        String totalScalar = g.op("Squeeze", in(totalLen, g.constantInts(0)));
        String one = g.constantInt(1);
        String queryPos = g.op("Range", in(pastScalar, totalScalar, one));
        String keyPos = g.op("Range", in(g.constantInt(0), totalScalar, one));
        // blocked[q, k] = key position > query position: [1, total] > [seq, 1] -> [seq, total]
        blocked = g.op("Greater", in(g.op("Unsqueeze", in(keyPos, g.constantInts(0))),
                g.op("Unsqueeze", in(queryPos, g.constantInts(1)))));
        negInf = g.constantFloat(Float.NEGATIVE_INFINITY);
        g.exit();
    }

    /** cos or sin of pos * theta^(-2j/head_size), [max_seq, head_size/2], as llama2.c computes it. */
    private TensorValues ropeTable(boolean cosine) {
        int half = hs / 2;
        float[] t = new float[c.maxSeqLen() * half];
        for (int pos = 0; pos < c.maxSeqLen(); pos++) {
            for (int j = 0; j < half; j++) {
                double angle = pos * Math.pow(opts.ropeTheta(), -2.0 * j / hs);
                t[pos * half + j] = (float) (cosine ? Math.cos(angle) : Math.sin(angle));
            }
        }
        return TensorValues.of(new long[] {c.maxSeqLen(), half}, t);
    }

    private String layer(int i, String x) throws IOException {
        g.enter("layers." + i);
        g.enter("attention_norm");
        String xn = norm(x, weight(LlamaTensor.ATTENTION_NORM, i));
        g.exit();
        String attn = attention(i, xn);

        g.enter("ffn_norm");
        String[] normedAndSum = residualNorm(x, attn, weight(LlamaTensor.FFN_NORM, i));
        g.exit();
        String hn = normedAndSum[0], h = normedAndSum[1];

        String mlp = feedForward(i, hn);
        g.enter("residual");
        String out = g.op("Add", in(h, mlp));
        g.exit();
        g.exit();
        return out;
    }

    private String attention(int i, String xn) throws IOException {
        g.enter("attention");
        String q = g.op("MatMul", in(xn, weight(LlamaTensor.WQ, i)));
        String k = g.op("MatMul", in(xn, weight(LlamaTensor.WK, i)));
        String v = g.op("MatMul", in(xn, weight(LlamaTensor.WV, i)));
        String q4 = g.op("Reshape", in(q, g.constantInts(0, 0, c.nHeads(), hs)));
        String k4 = g.op("Reshape", in(k, g.constantInts(0, 0, c.nKvHeads(), hs)));
        String v4 = g.op("Reshape", in(v, g.constantInts(0, 0, c.nKvHeads(), hs)));
        String qh = g.op("Transpose", in(rope(q4, c.nHeads())), intsAttr("perm", 0, 2, 1, 3));
        String kh = g.op("Transpose", in(rope(k4, c.nKvHeads())), intsAttr("perm", 0, 2, 1, 3));
        String vh = g.op("Transpose", in(v4), intsAttr("perm", 0, 2, 1, 3));
        if (opts.pastKeyValues()) {
            String pk = presentName(i, "key"), pv = presentName(i, "value");
            g.opNamed("Concat", "", in(pastName(i, "key"), kh), in(pk), intAttr("axis", 2));
            g.opNamed("Concat", "", in(pastName(i, "value"), vh), in(pv), intAttr("axis", 2));
            kh = pk;
            vh = pv;
        } else if (presentWithoutPast) {
            g.opNamed("Identity", "", in(kh), in(presentName(i, "key")));
            g.opNamed("Identity", "", in(vh), in(presentName(i, "value")));
        }
        String keys = expandKvHeads(kh), values = expandKvHeads(vh);
        String scores = g.op("MatMul", in(qh, g.op("Transpose", in(keys), intsAttr("perm", 0, 1, 3, 2))));
        String scaled = g.op("Div", in(scores, g.constantFloat((float) Math.sqrt(hs))));
        String masked = g.op("Where", in(blocked, negInf, scaled));
        String probs = g.op("Softmax", in(masked), intAttr("axis", -1));
        String context = g.op("MatMul", in(probs, values));
        String merged = g.op("Reshape", in(g.op("Transpose", in(context), intsAttr("perm", 0, 2, 1, 3)),
                g.constantInts(0, 0, c.dim())));
        String out = g.op("MatMul", in(merged, weight(LlamaTensor.WO, i)));
        g.exit();
        return out;
    }

    /** Rotates the interleaved pairs (0,1), (2,3), ... of each head of t [batch, seq, heads, head_size]. */
    private String rope(String t, int heads) {
        String pairs = g.op("Reshape", in(t, g.constantInts(0, 0, heads, hs / 2, 2)));
        String[] evenOdd = g.opN("Split", "", 2, in(pairs), intAttr("axis", -1));
        String even = evenOdd[0], odd = evenOdd[1];
        String rotEven = g.op("Sub", in(g.op("Mul", in(even, cos)), g.op("Mul", in(odd, sin))));
        String rotOdd = g.op("Add", in(g.op("Mul", in(even, sin)), g.op("Mul", in(odd, cos))));
        String joined = g.op("Concat", in(rotEven, rotOdd), intAttr("axis", -1));
        return g.op("Reshape", in(joined, g.constantInts(0, 0, heads, hs)));
    }

    /**
     * [batch, kv_heads, T, hs] -> [batch, heads, T, hs] where query head h reads kv head
     * h / group: each kv head is repeated group times in place (interleaved, not tiled).
     */
    private String expandKvHeads(String t) {
        int group = c.groupSize();
        if (group == 1) return t;
        String unsq = g.op("Unsqueeze", in(t, g.constantInts(2)));
        String expanded = g.op("Expand", in(unsq, g.constantInts(1, 1, group, 1, 1)));
        return g.op("Reshape", in(expanded, g.constantInts(0, c.nHeads(), -1, hs)));
    }

    private String feedForward(int i, String hn) throws IOException {
        g.enter("feed_forward");
        String gate = g.op("MatMul", in(hn, weight(LlamaTensor.W1, i)));
        String up = g.op("MatMul", in(hn, weight(LlamaTensor.W3, i)));
        String silu = g.op("Mul", in(gate, g.op("Sigmoid", in(gate))));
        String down = g.op("MatMul", in(g.op("Mul", in(silu, up)), weight(LlamaTensor.W2, i)));
        g.exit();
        return down;
    }

    /** Residual sum and its norm; one SkipSimplifiedLayerNormalization when FUSED. Returns {normed, sum}. */
    private String[] residualNorm(String residual, String branch, String gamma) {
        if (opts.normStyle() == NormStyle.FUSED) {
            // outputs: output, mean, inv_std_var, input_skip_bias_sum; the middle two stay unused
            // ("") as ONNX Runtime's fusion leaves them
            String[] outs = g.opN("SkipSimplifiedLayerNormalization", MS_DOMAIN, 4, in(residual, branch, gamma),
                    new boolean[] {true, false, false, true}, floatAttr("epsilon", opts.epsilon()));
            return new String[] {outs[0], outs[3]};
        }
        String sum = g.op("Add", in(residual, branch));
        return new String[] {norm(sum, gamma), sum};
    }

    /** RMSNorm of x with gain gamma in the configured style (FUSED: SimplifiedLayerNormalization). */
    private String norm(String x, String gamma) {
        switch (opts.normStyle()) {
            case FUSED:
                return g.op("SimplifiedLayerNormalization", in(x, gamma),
                        intAttr("axis", -1), floatAttr("epsilon", opts.epsilon()));
            case DECOMPOSED:
            case DECOMPOSED_CAST:
            default:
                boolean cast = opts.normStyle() == NormStyle.DECOMPOSED_CAST;
                String xf = cast ? g.op("Cast", in(x), intAttr("to", FLOAT)) : x;
                String squares = g.op("Pow", in(xf, g.constantFloat(2f)));
                String meanSquare = g.op("ReduceMean", in(squares), intsAttr("axes", -1), intAttr("keepdims", 1));
                String shifted = g.op("Add", in(meanSquare, g.constantFloat(opts.epsilon())));
                String inverseRms = g.op("Reciprocal", in(g.op("Sqrt", in(shifted))));
                String normed = g.op("Mul", in(xf, inverseRms));
                if (cast) normed = g.op("Cast", in(normed), intAttr("to", FLOAT));
                return g.op("Mul", in(gamma, normed));
        }
    }
}
