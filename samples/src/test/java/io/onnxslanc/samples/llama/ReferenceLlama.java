package io.onnxslanc.samples.llama;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Independent double-precision re-implementation of llama2.c's forward pass (run.c), one token at a
 * time with a KV cache, over weights in the math layout (W is out x in, y = W x).
 */
public final class ReferenceLlama {

    public final int dim, hidden, layers, heads, kvHeads, vocab, seqLen;
    public final double[][] embedding;        // [vocab][dim]
    public final double[][] rmsAtt, rmsFfn;   // [layers][dim]
    public final double[][][] wq, wk, wv, wo, w1, w2, w3;
    public final double[] rmsFinal;
    public final double[][] classifier;       // [vocab][dim]

    ReferenceLlama(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen) {
        this.dim = dim; this.hidden = hidden; this.layers = layers; this.heads = heads;
        this.kvHeads = kvHeads; this.vocab = vocab; this.seqLen = seqLen;
        int kvDim = kvHeads * (dim / heads);
        embedding = new double[vocab][dim];
        rmsAtt = new double[layers][dim];
        rmsFfn = new double[layers][dim];
        wq = new double[layers][dim][dim];
        wk = new double[layers][kvDim][dim];
        wv = new double[layers][kvDim][dim];
        wo = new double[layers][dim][dim];
        w1 = new double[layers][hidden][dim];
        w2 = new double[layers][dim][hidden];
        w3 = new double[layers][hidden][dim];
        rmsFinal = new double[dim];
        classifier = new double[vocab][];
    }

    /** Parses a llama2.c checkpoint with its own reader (shares nothing with the importer). */
    public static ReferenceLlama fromLlama2c(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int dim = b.getInt(), hidden = b.getInt(), layers = b.getInt(), heads = b.getInt(), kv = b.getInt(),
                vocabRaw = b.getInt(), seq = b.getInt();
        ReferenceLlama m = new ReferenceLlama(dim, hidden, layers, heads, kv, Math.abs(vocabRaw), seq);
        read(b, m.embedding);
        read(b, m.rmsAtt);
        read(b, m.wq); read(b, m.wk); read(b, m.wv); read(b, m.wo);
        read(b, m.rmsFfn);
        read(b, m.w1); read(b, m.w2); read(b, m.w3);
        read(b, m.rmsFinal);
        b.position(b.position() + 4 * 2 * seq * (dim / heads / 2)); // legacy RoPE tables
        if (vocabRaw > 0) {
            for (int t = 0; t < m.vocab; t++) m.classifier[t] = m.embedding[t];
        } else {
            for (int t = 0; t < m.vocab; t++) m.classifier[t] = new double[dim];
            read(b, m.classifier);
        }
        if (b.hasRemaining()) throw new IllegalStateException("unread bytes: " + b.remaining());
        return m;
    }

    /**
     * Loads the weights of a generated model back from its initializers (inline raw_data or external
     * data relative to dir), undoing the MatMul transposition. Shape from the given dims.
     */
    static ReferenceLlama fromOnnx(io.onnxslanc.proto.Onnx.ModelProto model, Path dir, int dim, int hidden, int layers,
                                   int heads, int kvHeads, int vocab, int seqLen) throws IOException {
        ReferenceLlama m = new ReferenceLlama(dim, hidden, layers, heads, kvHeads, vocab, seqLen);
        java.util.Map<String, float[]> t = new java.util.HashMap<>();
        for (io.onnxslanc.proto.Onnx.TensorProto init : model.getGraph().getInitializerList()) t.put(init.getName(), values(init, dir));
        copy(t.get("tok_embeddings.weight"), m.embedding, false);
        copy(t.get("norm.weight"), m.rmsFinal);
        for (int l = 0; l < layers; l++) {
            String p = "layers." + l + ".";
            copy(t.get(p + "attention_norm.weight"), m.rmsAtt[l]);
            copy(t.get(p + "ffn_norm.weight"), m.rmsFfn[l]);
            copy(t.get(p + "attention.wq.weight"), m.wq[l], true);
            copy(t.get(p + "attention.wk.weight"), m.wk[l], true);
            copy(t.get(p + "attention.wv.weight"), m.wv[l], true);
            copy(t.get(p + "attention.wo.weight"), m.wo[l], true);
            copy(t.get(p + "feed_forward.w1.weight"), m.w1[l], true);
            copy(t.get(p + "feed_forward.w2.weight"), m.w2[l], true);
            copy(t.get(p + "feed_forward.w3.weight"), m.w3[l], true);
        }
        for (int v = 0; v < vocab; v++) m.classifier[v] = new double[dim];
        if (t.containsKey("output.weight")) copy(t.get("output.weight"), m.classifier, true);
        else copy(t.get("tok_embeddings.weight"), m.classifier, false);
        return m;
    }

    static float[] values(io.onnxslanc.proto.Onnx.TensorProto init, Path dir) throws IOException {
        ByteBuffer bytes;
        if (init.getDataLocation() == io.onnxslanc.proto.Onnx.TensorProto.DataLocation.EXTERNAL) {
            java.util.Map<String, String> ext = new java.util.HashMap<>();
            init.getExternalDataList().forEach(e -> ext.put(e.getKey(), e.getValue()));
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve(ext.get("location")))) {
                bytes = ByteBuffer.allocate(Integer.parseInt(ext.get("length")));
                ch.read(bytes, Long.parseLong(ext.get("offset")));
                bytes.flip();
            }
        } else {
            bytes = init.getRawData().asReadOnlyByteBuffer();
        }
        float[] f = new float[bytes.remaining() / 4];
        bytes.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    private static void copy(float[] src, double[] dst) {
        for (int i = 0; i < dst.length; i++) dst[i] = src[i];
    }

    /** src is [rows][cols] of dst, or its transpose [cols][rows] when transposed. */
    private static void copy(float[] src, double[][] dst, boolean transposed) {
        int rows = dst.length, cols = dst[0].length;
        if (src.length != rows * cols) throw new IllegalStateException("size " + src.length + " != " + rows + "x" + cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) dst[r][c] = transposed ? src[c * rows + r] : src[r * cols + c];
        }
    }

    private static void read(ByteBuffer b, double[] a) {
        for (int i = 0; i < a.length; i++) a[i] = b.getFloat();
    }

    private static void read(ByteBuffer b, double[][] a) {
        for (double[] row : a) read(b, row);
    }

    private static void read(ByteBuffer b, double[][][] a) {
        for (double[][] m : a) read(b, m);
    }

    /** Logits [tokens.length][vocab] for the tokens at positions 0.. in order. */
    public double[][] forward(int[] tokens, double eps, double theta) {
        int hs = dim / heads, kvDim = kvHeads * hs, group = heads / kvHeads;
        double[][][] keyCache = new double[layers][tokens.length][];
        double[][][] valueCache = new double[layers][tokens.length][];
        double[][] logits = new double[tokens.length][];
        for (int pos = 0; pos < tokens.length; pos++) {
            double[] x = embedding[tokens[pos]].clone();
            for (int l = 0; l < layers; l++) {
                double[] xb = rmsNorm(x, rmsAtt[l], eps);
                double[] q = matVec(wq[l], xb), k = matVec(wk[l], xb), v = matVec(wv[l], xb);
                for (int i = 0; i < dim; i += 2) {
                    int headDim = i % hs;
                    double angle = pos * Math.pow(theta, -(double) headDim / hs);
                    double fcr = Math.cos(angle), fci = Math.sin(angle);
                    rotate(q, i, fcr, fci);
                    if (i < kvDim) rotate(k, i, fcr, fci);
                }
                keyCache[l][pos] = k;
                valueCache[l][pos] = v;
                double[] attOut = new double[dim];
                for (int h = 0; h < heads; h++) {
                    int kvOff = (h / group) * hs;
                    double[] att = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t <= pos; t++) {
                        double s = 0;
                        for (int j = 0; j < hs; j++) s += q[h * hs + j] * keyCache[l][t][kvOff + j];
                        att[t] = s / Math.sqrt(hs);
                        max = Math.max(max, att[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t <= pos; t++) { att[t] = Math.exp(att[t] - max); sum += att[t]; }
                    for (int t = 0; t <= pos; t++) {
                        double a = att[t] / sum;
                        for (int j = 0; j < hs; j++) attOut[h * hs + j] += a * valueCache[l][t][kvOff + j];
                    }
                }
                double[] o = matVec(wo[l], attOut);
                for (int i = 0; i < dim; i++) x[i] += o[i];
                xb = rmsNorm(x, rmsFfn[l], eps);
                double[] gate = matVec(w1[l], xb), up = matVec(w3[l], xb);
                for (int i = 0; i < hidden; i++) gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                double[] down = matVec(w2[l], gate);
                for (int i = 0; i < dim; i++) x[i] += down[i];
            }
            logits[pos] = matVec(classifier, rmsNorm(x, rmsFinal, eps));
        }
        return logits;
    }

    private static void rotate(double[] v, int i, double fcr, double fci) {
        double v0 = v[i], v1 = v[i + 1];
        v[i] = v0 * fcr - v1 * fci;
        v[i + 1] = v0 * fci + v1 * fcr;
    }

    private static double[] rmsNorm(double[] x, double[] gain, double eps) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = gain[i] * x[i] * inv;
        return out;
    }

    private static double[] matVec(double[][] w, double[] x) {
        double[] y = new double[w.length];
        for (int o = 0; o < w.length; o++) {
            double s = 0;
            double[] row = w[o];
            for (int i = 0; i < x.length; i++) s += row[i] * x[i];
            y[o] = s;
        }
        return y;
    }
}
