package io.onnxslanc.samples.amplify;

/**
 * How {@link ResidualAmplifier} scales a model.
 *
 * @param factor  c: every norm's input becomes c times larger; a power of two keeps the FP32 function bit-exact
 * @param readers post-norm only: how the layers that read the amplified stream (W_q, W_k, W_v, W_1) are given
 *                their original input back
 */
public record AmplifyOptions(double factor, ReaderCompensation readers) {

    /** Post-norm networks: how the stream's readers undo the factor. */
    public enum ReaderCompensation {
        /**
         * Each reader's weight divided by c (a scaled copy, default): the readers must be MatMul/Gemm layers. This is
         * the form a real post-norm model with large norm gains has, and the one SLaNC's block finder recognises
         * (a reader behind an extra Mul is not). In FP16 the divided weights are smaller: a BERT weight of 1e-3
         * divided by 1024 is 1e-6, an FP16 subnormal with 4 significant bits.
         */
        WEIGHTS,
        /**
         * One Mul by 1/c on the edges from each norm output to its readers; the weights stay as they were. Keeps
         * the weights in FP16's normal range, but SLaNC then no longer finds the blocks in front of the norms.
         */
        EDGE_MUL
    }

    public AmplifyOptions {
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("amplification factor must be finite and > 0, got " + factor);
        }
        if (readers == null) {
            throw new IllegalArgumentException("reader compensation must not be null");
        }
    }

    public static AmplifyOptions of(double factor) {
        return new AmplifyOptions(factor, ReaderCompensation.WEIGHTS);
    }

    public AmplifyOptions withReaders(ReaderCompensation r) {
        return new AmplifyOptions(factor, r);
    }

    /** True when c = 2^k: every scaled value is exact in binary floating point (away from overflow / subnormals). */
    public boolean exact() {
        return factor == Math.scalb(1.0, Math.getExponent(factor));
    }
}
