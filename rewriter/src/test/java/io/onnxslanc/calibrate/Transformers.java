package io.onnxslanc.calibrate;

import static io.onnxslanc.ir.Attribute.ofInt;
import static io.onnxslanc.ir.Attribute.ofInts;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Value;
import java.util.List;

/** Small transformer graphs in the shapes real exporters produce, with hand-built norm sites. */
public final class Transformers {
    // Llama-style: pre-norm RMSNorm, grouped-query attention 8 query / 4 kv heads, SwiGLU MLP
    public static final int LD = 32;
    public static final int LHEADS = 8;
    public static final int LKV = 4;
    public static final int LHD = 4;
    public static final int LFF = 48;

    // BERT-style: post-norm LayerNorm, biases everywhere, decomposed GELU
    public static final int BD = 24;
    public static final int BHEADS = 4;
    public static final int BHD = 6;
    public static final int BFF = 40;

    // GPT-2-style: pre-norm LayerNorm, packed QKV projection
    public static final int GD = 16;
    public static final int GHEADS = 4;
    public static final int GHD = 4;

    private Transformers() {
    }

    /**
     * Two Llama layers and the final norm. Layer 1 stores its weights differently: W_v as Gemm(transB=1) behind a
     * Reshape, W_o as an initializer [out, in] behind a Transpose, W_down as Gemm(transB=1) between Reshapes.
     * Norms: l0/input_ln, l0/post_ln, l1/input_ln, l1/post_ln, final_ln.
     */
    public static TestGraph llama(long seed) {
        TestGraph t = new TestGraph(seed);
        Value ids = t.input("ids", DataType.INT64, 1, 5);
        Value x = t.op("Gather", t.weight("embed", 10, LD, 1.0), ids);
        for (int layer = 0; layer < 2; layer++) {
            String p = "l" + layer;
            boolean alt = layer == 1;
            Value h = t.rmsNorm(p + "/input_ln", x, t.vector(p + ".input_ln.weight", LD, 1.0, 0.3), 1e-5f, LD).output();
            Value q = t.matMul(h, t.weight(p + ".wq", LD, LHEADS * LHD, 0.2));
            q = t.op("Reshape", q, t.longs(p + ".q_shape", 0, 0, LHEADS, LHD));
            q = t.op("Transpose", List.of(q), ofInts("perm", 0, 2, 1, 3));
            Value k = t.matMul(h, t.weight(p + ".wk", LD, LKV * LHD, 0.2));
            k = t.op("Reshape", k, t.longs(p + ".k_shape", 0, 0, LKV, LHD));
            k = t.op("Transpose", List.of(k), ofInts("perm", 0, 2, 3, 1));
            Value v;
            if (alt) {
                Value flat = t.op("Reshape", h, t.longs(p + ".flat", -1, LD));
                v = t.op("Gemm", List.of(flat, t.weight(p + ".wv", LKV * LHD, LD, 0.2)), ofInt("transB", 1));
            } else {
                v = t.matMul(h, t.weight(p + ".wv", LD, LKV * LHD, 0.2));
            }
            v = t.op("Reshape", v, t.longs(p + ".v_shape", 1, -1, LKV, LHD));
            v = t.op("Transpose", List.of(v), ofInts("perm", 0, 2, 1, 3));
            v = t.op("Unsqueeze", v, t.longs(p + ".unsq_axes", 2));
            v = t.op("Expand", v, t.longs(p + ".expand", 1, LKV, LHEADS / LKV, 5, LHD));
            v = t.op("Reshape", v, t.longs(p + ".v_heads", 1, LHEADS, -1, LHD));
            Value scores = t.op("Div", t.matMul(q, k), t.scalar(p + ".sqrt_hd", 2f));
            Value probs = t.op("Softmax", List.of(scores), ofInt("axis", -1));
            Value ctx = t.op("Transpose", List.of(t.matMul(probs, v)), ofInts("perm", 0, 2, 1, 3));
            ctx = t.op("Reshape", ctx, t.longs(p + ".ctx_shape", 0, 0, LD));
            Value o;
            if (alt) {
                Value woT = t.op("Transpose", List.of(t.weight(p + ".wo", LD, LD, 0.2)), ofInts("perm", 1, 0));
                o = t.matMul(ctx, woT);
            } else {
                o = t.matMul(ctx, t.weight(p + ".wo", LD, LD, 0.2));
            }
            x = t.op("Add", x, o);
            Value h2 = t.rmsNorm(p + "/post_ln", x, t.vector(p + ".post_ln.weight", LD, 1.0, 0.3), 1e-5f, LD).output();
            Value gate = t.matMul(h2, t.weight(p + ".wgate", LD, LFF, 0.2));
            Value up = t.matMul(h2, t.weight(p + ".wup", LD, LFF, 0.2));
            Value act = t.op("Mul", gate, t.op("Sigmoid", gate));
            Value m = t.op("Mul", act, up);
            Value down;
            if (alt) {
                Value flat = t.op("Reshape", m, t.longs(p + ".mflat", -1, LFF));
                down = t.op("Gemm", List.of(flat, t.weight(p + ".wdown", LD, LFF, 0.2)), ofInt("transB", 1));
                down = t.op("Reshape", down, t.longs(p + ".down_shape", 1, -1, LD));
            } else {
                down = t.matMul(m, t.weight(p + ".wdown", LFF, LD, 0.2));
            }
            x = t.op("Add", x, down);
        }
        Value f = t.rmsNorm("final_ln", x, t.vector("final_ln.weight", LD, 1.0, 0.3), 1e-5f, LD).output();
        t.g.addOutput(t.matMul(f, t.weight("lm_head", LD, 10, 0.2)));
        return t;
    }

    /**
     * Two post-norm BERT layers: embeddings LayerNorm (fused), per layer the attention output norm decomposed
     * (both share the epsilon initializer "eps_shared") and the output norm fused. Head reshapes are built at run
     * time from Shape/Gather/Unsqueeze and constant [heads], [head size] pieces, as PyTorch exports them.
     * Norms: emb_ln, l0/attn_ln, l0/out_ln, l1/attn_ln, l1/out_ln.
     */
    public static TestGraph bert(long seed) {
        TestGraph t = new TestGraph(seed);
        Value ids = t.input("ids", DataType.INT64, 1, 5);
        Value mask = t.input("mask", DataType.FLOAT, 1, 1, 1, 5);
        Value x = t.op("Add", t.op("Gather", t.weight("word_emb", 10, BD, 1.0), ids), t.weight("pos_emb", 5, BD, 0.5));
        Value h = t.layerNorm("emb_ln", x, t.vector("emb_ln.weight", BD, 1.0, 0.2), t.vector("emb_ln.bias", BD, 0, 0.1),
                1e-12f, BD).output();
        Value eps = t.scalar("eps_shared", 1e-12f);
        for (int layer = 0; layer < 2; layer++) {
            String p = "l" + layer;
            Value q = t.op("Add", t.vector(p + ".bq", BD, 0, 0.1), t.matMul(h, t.weight(p + ".wq", BD, BD, 0.2)));
            Value k = t.op("Add", t.vector(p + ".bk", BD, 0, 0.1), t.matMul(h, t.weight(p + ".wk", BD, BD, 0.2)));
            Value v = t.op("Add", t.vector(p + ".bv", BD, 0, 0.1), t.matMul(h, t.weight(p + ".wv", BD, BD, 0.2)));
            q = t.op("Transpose", List.of(t.op("Reshape", q, headShape(t, p + ".q", q))), ofInts("perm", 0, 2, 1, 3));
            k = t.op("Transpose", List.of(t.op("Reshape", k, headShape(t, p + ".k", k))), ofInts("perm", 0, 2, 3, 1));
            v = t.op("Transpose", List.of(t.op("Reshape", v, headShape(t, p + ".v", v))), ofInts("perm", 0, 2, 1, 3));
            Value scores = t.op("Add", t.op("Div", t.matMul(q, k), t.scalar(p + ".sqrt", 2.449f)), mask);
            Value probs = t.op("Softmax", List.of(scores), ofInt("axis", 3));
            Value ctx = t.op("Transpose", List.of(t.matMul(probs, v)), ofInts("perm", 0, 2, 1, 3));
            ctx = t.op("Reshape", ctx, t.longs(p + ".ctx_shape", 0, 0, BD));
            Value attn = t.op("Add", t.vector(p + ".bo", BD, 0, 0.1), t.matMul(ctx, t.weight(p + ".wo", BD, BD, 0.2)));
            Value r1 = t.op("Add", attn, h);
            Value h1 = t.decomposedLayerNorm(p + "/attn_ln", r1, t.vector(p + ".attn_ln.weight", BD, 1.0, 0.2),
                    t.vector(p + ".attn_ln.bias", BD, 0, 0.1), eps, BD).output();
            Value f = t.op("Add", t.vector(p + ".b1", BFF, 0, 0.1), t.matMul(h1, t.weight(p + ".w1", BD, BFF, 0.2)));
            Value gelu = t.op("Mul", t.op("Mul", f, t.op("Add", t.op("Erf", t.op("Div", f, t.scalar(p + ".sqrt2", 1.4142135f))),
                    t.scalar(p + ".one", 1f))), t.scalar(p + ".half", 0.5f));
            Value out = t.op("Add", t.matMul(gelu, t.weight(p + ".w2", BFF, BD, 0.2)), t.vector(p + ".b2", BD, 0, 0.1));
            Value r2 = t.op("Add", out, h1);
            h = t.layerNorm(p + "/out_ln", r2, t.vector(p + ".out_ln.weight", BD, 1.0, 0.2),
                    t.vector(p + ".out_ln.bias", BD, 0, 0.1), 1e-12f, BD).output();
        }
        t.g.addOutput(h);
        return t;
    }

    /** Concat(Unsqueeze(Gather(Shape(x), 0)), Unsqueeze(Gather(Shape(x), 1)), [heads], [head size]). */
    private static Value headShape(TestGraph t, String p, Value x) {
        Value shape = t.op("Shape", x);
        Value b = t.op("Unsqueeze", List.of(t.op("Gather", shape, t.scalarLong(p + ".i0", 0))), ofInts("axes", 0));
        Value s = t.op("Unsqueeze", List.of(t.op("Gather", shape, t.scalarLong(p + ".i1", 1))), ofInts("axes", 0));
        return t.op("Concat", List.of(b, s, t.longs(p + ".heads", BHEADS), t.longs(p + ".hd", BHD)), ofInt("axis", 0));
    }

    /**
     * One GPT-2 layer with a packed QKV projection [d, 3d] (Split with explicit sizes on axis 2 of a tensor of
     * unknown rank, or Slice on axis -1), a Gelu MLP whose W_2 is an FP16 initializer behind a Cast, and the final norm.
     * Norms: ln_1, ln_2, ln_f.
     */
    public static TestGraph gpt2(long seed, boolean slice) {
        return gpt2(seed, slice, false);
    }

    /** With {@code gemm}, the packed projection is Reshape [-1, d] -> Gemm -> Reshape [b, s, 3d], as Conv1D exports. */
    public static TestGraph gpt2(long seed, boolean slice, boolean gemm) {
        TestGraph t = new TestGraph(seed);
        Value ids = t.input("ids", DataType.INT64, 1, 5);
        Value x = t.op("Add", t.op("Gather", t.weight("wte", 10, GD, 1.0), ids), t.weight("wpe", 5, GD, 0.5));
        Value h = t.layerNorm("ln_1", x, t.vector("ln_1.weight", GD, 1.0, 0.2), t.vector("ln_1.bias", GD, 0, 0.1), 1e-5f, GD).output();
        Value qkv;
        if (gemm) {
            Value flat = t.op("Reshape", h, t.longs("flat_shape", -1, GD));
            qkv = t.op("Gemm", flat, t.weight("c_attn.weight", GD, 3 * GD, 0.2), t.vector("c_attn.bias", 3 * GD, 0, 0.1));
            Value shape = t.op("Concat", List.of(t.op("Slice", t.op("Shape", h), t.longs("s0", 0), t.longs("s1", 2)),
                    t.longs("nf", 3 * GD)), ofInt("axis", 0));
            qkv = t.op("Reshape", qkv, shape);
        } else {
            qkv = t.op("Add", t.matMul(h, t.weight("c_attn.weight", GD, 3 * GD, 0.2)), t.vector("c_attn.bias", 3 * GD, 0, 0.1));
        }
        Value q;
        Value k;
        Value v;
        if (slice) {
            q = t.op("Slice", qkv, t.longs("q_start", 0), t.longs("q_end", GD), t.longs("axes_q", -1));
            k = t.op("Slice", qkv, t.longs("k_start", GD), t.longs("k_end", 2 * GD), t.longs("axes_k", -1));
            v = t.op("Slice", qkv, t.longs("v_start", 2 * GD), t.longs("v_end", Long.MAX_VALUE), t.longs("axes_v", -1));
        } else {
            var split = t.node("", "Split", List.of(qkv, t.longs("split_sizes", GD, GD, GD)), 3, ofInt("axis", 2));
            q = split.output(0);
            k = split.output(1);
            v = split.output(2);
        }
        q = t.op("Transpose", List.of(t.op("Reshape", q, t.longs("q_shape", 0, 0, GHEADS, GHD))), ofInts("perm", 0, 2, 1, 3));
        k = t.op("Transpose", List.of(t.op("Reshape", k, t.longs("k_shape", 0, 0, GHEADS, GHD))), ofInts("perm", 0, 2, 3, 1));
        v = t.op("Transpose", List.of(t.op("Reshape", v, t.longs("v_shape", 0, 0, GHEADS, GHD))), ofInts("perm", 0, 2, 1, 3));
        Value probs = t.op("Softmax", List.of(t.op("Mul", t.matMul(q, k), t.scalar("inv_sqrt", 0.5f))), ofInt("axis", -1));
        Value ctx = t.op("Reshape", t.op("Transpose", List.of(t.matMul(probs, v)), ofInts("perm", 0, 2, 1, 3)),
                t.longs("ctx_shape", 0, 0, GD));
        Value attn = t.op("Add", t.matMul(ctx, t.weight("c_proj.weight", GD, GD, 0.2)), t.vector("c_proj.bias", GD, 0, 0.1));
        x = t.op("Add", x, attn);
        Value h2 = t.layerNorm("ln_2", x, t.vector("ln_2.weight", GD, 1.0, 0.2), t.vector("ln_2.bias", GD, 0, 0.1), 1e-5f, GD).output();
        Value f = t.op("Add", t.matMul(h2, t.weight("c_fc.weight", GD, 4 * GD, 0.2)), t.vector("c_fc.bias", 4 * GD, 0, 0.1));
        Value g = t.op("Gelu", f);
        Value mlp = t.op("Add", t.matMul(g, t.halfWeightBehindCast("mlp_proj.weight", 4 * GD, GD, 0.2)),
                t.vector("mlp_proj.bias", GD, 0, 0.1));
        x = t.op("Add", x, mlp);
        Value out = t.layerNorm("ln_f", x, t.vector("ln_f.weight", GD, 1.0, 0.2), t.vector("ln_f.bias", GD, 0, 0.1), 1e-5f, GD).output();
        t.g.addOutput(out);
        return t;
    }

    /**
     * ONNX Runtime's fused forms: SimplifiedLayerNormalization, com.microsoft GroupQueryAttention (8 query / 4 kv
     * heads from attributes), SkipSimplifiedLayerNormalization whose residual sum feeds the next residual Add,
     * a plain Relu MLP, and W_o stored flat [d*d] behind a Reshape. With {@code packedAttention}, a com.microsoft
     * Attention op with one packed [d, 3d] weight and num_heads 8 replaces the projections and GQA.
     * Norms: input_ln, post_ln (Skip), final_ln.
     */
    public static TestGraph fusedLlama(long seed, boolean packedAttention) {
        TestGraph t = new TestGraph(seed);
        Value ids = t.input("ids", DataType.INT64, 1, 5);
        Value x = t.op("Gather", t.weight("embed", 10, LD, 1.0), ids);
        Value h = t.rmsNorm("input_ln", x, t.vector("input_ln.weight", LD, 1.0, 0.3), 1e-5f, LD).output();
        Value ctx;
        if (packedAttention) {
            ctx = t.node("com.microsoft", "Attention", List.of(h, t.weight("qkv", LD, 3 * LD, 0.2),
                    t.vector("qkv_bias", 3 * LD, 0, 0.1)), 1, ofInt("num_heads", LHEADS)).output(0);
        } else {
            Value q = t.matMul(h, t.weight("wq", LD, LHEADS * LHD, 0.2));
            Value k = t.matMul(h, t.weight("wk", LD, LKV * LHD, 0.2));
            Value v = t.matMul(h, t.weight("wv", LD, LKV * LHD, 0.2));
            ctx = t.node("com.microsoft", "GroupQueryAttention", List.of(q, k, v), 1,
                    ofInt("num_heads", LHEADS), ofInt("kv_num_heads", LKV)).output(0);
        }
        Value woFlat = t.floats("wo_flat", new long[] {LD * LD}, t.data(t.weight("wo_tmp", LD, LD, 0.2).name()));
        Value wo = t.op("Reshape", woFlat, t.longs("wo_shape", LD, LD));
        Value o = t.matMul(ctx, wo);
        var skip = t.skipRmsNorm("post_ln", x, o, t.vector("post_ln.weight", LD, 1.0, 0.3), null, 1e-5f, LD);
        Value f = t.op("Relu", t.matMul(skip.output(), t.weight("w1", LD, LFF, 0.2)));
        Value down = t.matMul(f, t.weight("w2", LFF, LD, 0.2));
        Value sum = skip.root().output(3);
        Value r = t.op("Add", sum, down);
        t.g.addOutput(t.rmsNorm("final_ln", r, t.vector("final_ln.weight", LD, 1.0, 0.3), 1e-5f, LD).output());
        return t;
    }
}
