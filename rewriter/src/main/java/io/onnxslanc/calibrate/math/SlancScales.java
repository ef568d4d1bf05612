package io.onnxslanc.calibrate.math;

import java.util.Objects;

/**
 * The SLaNC scales of docs/method.md, computed in double from the weights in front of a norm.
 *
 * <p>All weights are passed in the math layout y = W x (W is [out x in]); for an ONNX MatMul initializer
 * B = W^T pass {@code MatrixView.transposed()}. A null gamma stands for a norm without gain (identity).
 * Weights containing NaN or infinity are rejected with an {@link IllegalArgumentException} naming the weight.
 *
 * <p>Frobenius norms of products are computed exactly when the product costs at most
 * {@link Options#exactThreshold()} multiply-adds, otherwise estimated by Rademacher probing with a fixed seed
 * (results are identical for equal inputs and options, whatever the thread count).
 */
public final class SlancScales {

    /**
     * Tuning of the computation.
     *
     * @param exactThreshold      multiply-adds of an exact product above which its Frobenius norm is estimated
     * @param probes              probe vectors per batch (and the minimum number of probes)
     * @param maxProbes           probing adds batches until the relative standard error of s is at most
     *                            {@code targetRelativeError} or this many probes were used
     * @param targetRelativeError wanted relative standard error of an estimated s
     * @param seed                seed of the probes and of the Lanczos start vector
     * @param powerTolerance      relative Ritz residual at which the spectral norm's Lanczos iteration stops
     *                            (see {@link ScaleResult#powerResidual()})
     * @param powerMaxIterations  Lanczos step limit (one pass over W_gate per step); small matrices may take
     *                            more steps, up to about 2e8 multiply-adds
     * @param threads             worker threads
     * @param residual            include the identity of the residual connection in the attention and plain-MLP
     *                            formulas (SLaNC default); false computes ||W_o W_v Gamma||_F, ||W_2 W_1 Gamma||_F
     */
    public record Options(double exactThreshold, int probes, int maxProbes, double targetRelativeError, long seed,
                          double powerTolerance, int powerMaxIterations, int threads,
                          boolean residual) {

        /*
         * Defaults, chosen on a Llama-2-7B layer (d = 4096, d_ff = 11008) on 2 cores; see SlancMathBenchmark.
         * SLaNC needs s within a binary order of magnitude (it is rounded to a power of two), so the defaults buy
         * about 0.3% for the least arithmetic, and the report states the error reached.
         * Exact up to 2e9 multiply-adds (about a second): d = 1024 attention is exact, larger products probed.
         * 16 Rademacher probes per batch give a relative std error of ~0.3% on 7B shapes (32 gave ~0.2% at twice
         * the cost, the probe products being half of the calibration's arithmetic); batches are added until 1% or
         * 128 probes. Rows of W_down / W_o with outstanding norms ("massive activation" channels, as in the
         * synthetic 7B preset: 2 rows x100) are computed exactly and left out of the probing, which brings their
         * error from 3% after 128 probes to well under 1% in one batch (see ProductFrobenius). Spectral norm:
         * Lanczos (one pass over W_gate per step), stopped at a relative Ritz residual of 1e-3, at most 12 steps
         * (the passes over W_gate were half of the arithmetic at 20). The Ritz value never exceeds sigma, and it
         * converges slowest on a top without a gap: an i.i.d. Gaussian 5632 x 2048 W_gate (1.1B shape, the
         * Marchenko-Pastur edge) is -0.39% after 12 steps, -0.06% after 20; a random 7B W_gate with outlier gains (a
         * cluster of ~20 top singular values) was -0.6% after 15. A separated top, as in trained weights, converges
         * in ~10 steps with a sigma error of the order of the residual squared. Either way the error is below the
         * probing's and far below the factor sqrt(2) of rounding s to a power of two.
         */
        public static final double DEFAULT_EXACT_THRESHOLD = 2e9;
        public static final int DEFAULT_PROBES = 16;
        public static final int DEFAULT_MAX_PROBES = 128;
        public static final double DEFAULT_TARGET_RELATIVE_ERROR = 0.01;
        public static final long DEFAULT_SEED = 0x5EED_51A2CL;
        public static final double DEFAULT_POWER_TOLERANCE = 1e-3;
        public static final int DEFAULT_POWER_MAX_ITERATIONS = 12;

        public Options {
            if (!(exactThreshold >= 0)) {
                throw new IllegalArgumentException("exactThreshold must be >= 0, got " + exactThreshold);
            }
            if (probes < 2) {
                throw new IllegalArgumentException("probes must be >= 2 (the error estimate needs two), got " + probes);
            }
            if (maxProbes < probes) {
                throw new IllegalArgumentException("maxProbes (" + maxProbes + ") must be >= probes (" + probes + ")");
            }
            if (!(targetRelativeError >= 0)) {
                throw new IllegalArgumentException("targetRelativeError must be >= 0, got " + targetRelativeError);
            }
            if (!(powerTolerance >= 0)) {
                throw new IllegalArgumentException("powerTolerance must be >= 0, got " + powerTolerance);
            }
            if (powerMaxIterations < 1 || threads < 1) {
                throw new IllegalArgumentException("powerMaxIterations and threads must be >= 1, got "
                        + powerMaxIterations + ", " + threads);
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_EXACT_THRESHOLD, DEFAULT_PROBES, DEFAULT_MAX_PROBES, DEFAULT_TARGET_RELATIVE_ERROR,
                    DEFAULT_SEED, DEFAULT_POWER_TOLERANCE, DEFAULT_POWER_MAX_ITERATIONS,
                    Runtime.getRuntime().availableProcessors(), true);
        }

        /** Always exact, however large. */
        public Options alwaysExact() {
            return withExactThreshold(Double.POSITIVE_INFINITY);
        }

        /** Always estimated, however small. */
        public Options alwaysEstimate() {
            return withExactThreshold(0);
        }

        public Options withExactThreshold(double v) {
            return new Options(v, probes, maxProbes, targetRelativeError, seed, powerTolerance, powerMaxIterations, threads, residual);
        }

        /** Sets the batch size; maxProbes is raised to it if lower. */
        public Options withProbes(int v) {
            return new Options(exactThreshold, v, Math.max(v, maxProbes), targetRelativeError, seed, powerTolerance, powerMaxIterations, threads, residual);
        }

        public Options withMaxProbes(int v) {
            return new Options(exactThreshold, probes, v, targetRelativeError, seed, powerTolerance, powerMaxIterations, threads, residual);
        }

        public Options withTargetRelativeError(double v) {
            return new Options(exactThreshold, probes, maxProbes, v, seed, powerTolerance, powerMaxIterations, threads, residual);
        }

        public Options withSeed(long v) {
            return new Options(exactThreshold, probes, maxProbes, targetRelativeError, v, powerTolerance, powerMaxIterations, threads, residual);
        }

        public Options withPowerTolerance(double v) {
            return new Options(exactThreshold, probes, maxProbes, targetRelativeError, seed, v, powerMaxIterations, threads, residual);
        }

        public Options withPowerMaxIterations(int v) {
            return new Options(exactThreshold, probes, maxProbes, targetRelativeError, seed, powerTolerance, v, threads, residual);
        }

        public Options withThreads(int v) {
            return new Options(exactThreshold, probes, maxProbes, targetRelativeError, seed, powerTolerance, powerMaxIterations, v, residual);
        }

        public Options withResidual(boolean v) {
            return new Options(exactThreshold, probes, maxProbes, targetRelativeError, seed, powerTolerance, powerMaxIterations, threads, v);
        }
    }

    private SlancScales() {
    }

    /** {@link #attention(MatrixView, MatrixView, double[], int, int, Options)} with default options. */
    public static ScaleResult attention(MatrixView wv, MatrixView wo, double[] gammaPrev, int nHeads, int nKvHeads) {
        return attention(wv, wo, gammaPrev, nHeads, nKvHeads, Options.defaults());
    }

    /**
     * Norm after an attention block: s = ||(I + W_o W_v_expanded) Gamma_prev||_F.
     *
     * @param wv        W_v [nKvHeads * headDim x d] (math layout)
     * @param wo        W_o [d x nHeads * headDim]; headDim = wo.cols() / nHeads (usually d / nHeads)
     * @param gammaPrev gain of the norm feeding the attention block, length d, or null
     * @param nKvHeads  kv heads; query head h reads kv head h / (nHeads / nKvHeads) (interleaved expansion)
     */
    public static ScaleResult attention(MatrixView wv, MatrixView wo, double[] gammaPrev, int nHeads, int nKvHeads,
                                        Options options) {
        return attention(wv, wo, gammaPrev, nHeads, nKvHeads, false, options);
    }

    /**
     * As {@link #attention(MatrixView, MatrixView, double[], int, int, Options)}; with {@code kvTiled} query head h
     * reads kv head h mod nKvHeads (kv heads repeated as a whole) instead of h / (nHeads / nKvHeads).
     */
    public static ScaleResult attention(MatrixView wv, MatrixView wo, double[] gammaPrev, int nHeads, int nKvHeads,
                                        boolean kvTiled, Options options) {
        Objects.requireNonNull(options, "options");
        BlockSource folded = foldedOutput(wv, wo, nHeads, nKvHeads, kvTiled, "attention", true);
        double[] gamma = checkedGamma(gammaPrev, wv.cols(), "attention");
        try (WorkerPool pool = new WorkerPool(options.threads())) {
            ProductFrobenius.Result f = ProductFrobenius.compute(folded, wv, wv.transposed(), gamma, options.residual(), options, pool);
            return new ScaleResult(Math.sqrt(f.squaredNorm()), f.estimated(), f.relativeStdError(), f.probes(), 0, 0.0);
        }
    }

    /**
     * Norm after a cross-attention block whose V reads the encoder memory (docs/method.md):
     * s^2 = ||Gamma_prev||_F^2 + ||W_o W_v_expanded Gamma_mem||_F^2. The residual stream and the memory are
     * independent, so the cross term of the square vanishes in expectation and the residual keeps only its own gain.
     *
     * @param gammaPrev gain of the norm feeding the block's residual / query side (length d_model), or null
     * @param gammaMem  gain of the norm producing the memory (length W_v's input width), or null
     */
    public static ScaleResult crossAttention(MatrixView wv, MatrixView wo, double[] gammaPrev, double[] gammaMem,
                                             int nHeads, int nKvHeads, boolean kvTiled, Options options) {
        Objects.requireNonNull(options, "options");
        BlockSource folded = foldedOutput(wv, wo, nHeads, nKvHeads, kvTiled, "cross-attention", false);
        double[] prev = checkedGamma(gammaPrev, wo.rows(), "cross-attention");
        double[] mem = checkedGamma(gammaMem, wv.cols(), "cross-attention");
        double residual = options.residual() ? squaredNorm(prev, wo.rows()) : 0.0;
        try (WorkerPool pool = new WorkerPool(options.threads())) {
            ProductFrobenius.Result f = ProductFrobenius.compute(folded, wv, wv.transposed(), mem, false, options, pool);
            double total = residual + f.squaredNorm();
            // only the product part is estimated: its relative error shrinks by its share of the total
            double error = total > 0 ? f.relativeStdError() * f.squaredNorm() / total : 0.0;
            return new ScaleResult(Math.sqrt(total), f.estimated(), error, f.probes(), 0, 0.0);
        }
    }

    /**
     * Norm after a parallel block, x + attn(LN x) + mlp(LN x) with one norm (GPT-J, GPT-NeoX, Falcon), plain MLP
     * (activation as identity): s = ||(I + W_o W_v_expanded + W_2 W_1) Gamma||_F, computed as one product of the
     * joined factors [W_o | W_2] [W_v ; W_1].
     */
    public static ScaleResult parallel(MatrixView wv, MatrixView wo, MatrixView w1, MatrixView w2, double[] gamma,
                                       int nHeads, int nKvHeads, boolean kvTiled, Options options) {
        Objects.requireNonNull(options, "options");
        if (w1.cols() != wv.cols() || w2.rows() != wo.rows() || w2.cols() != w1.rows()) {
            throw new IllegalArgumentException("parallel block: W_1 '" + w1.name() + "' is " + w1.rows() + " x " + w1.cols()
                    + ", W_2 '" + w2.name() + "' is " + w2.rows() + " x " + w2.cols() + ", attention reads " + wv.cols()
                    + " and writes " + wo.rows() + " features");
        }
        BlockSource folded = foldedOutput(wv, wo, nHeads, nKvHeads, kvTiled, "parallel block", true);
        double[] g = checkedGamma(gamma, wv.cols(), "parallel block");
        BlockSource a = JoinedBlocks.sideBySide(folded, w2);
        BlockSource b = JoinedBlocks.stacked(wv, w1);
        BlockSource bT = JoinedBlocks.sideBySide(wv.transposed(), w1.transposed());
        try (WorkerPool pool = new WorkerPool(options.threads())) {
            ProductFrobenius.Result f = ProductFrobenius.compute(a, b, bT, g, options.residual(), options, pool);
            return new ScaleResult(Math.sqrt(f.squaredNorm()), f.estimated(), f.relativeStdError(), f.probes(), 0, 0.0);
        }
    }

    /**
     * Norm after a parallel block with a gated MLP: s^2 = ||(I + W_o W_v_expanded) Gamma||_F^2
     * + (||W_down W_up Gamma||_F ||W_gate Gamma||_2)^2. The gated branch is even in the normalised input and the
     * rest is odd, so their cross term vanishes for a symmetric input distribution (docs/method.md).
     */
    public static ScaleResult parallelGated(MatrixView wv, MatrixView wo, MatrixView wGate, MatrixView wUp,
                                            MatrixView wDown, double[] gamma, int nHeads, int nKvHeads, boolean kvTiled,
                                            Options options) {
        ScaleResult att = attention(wv, wo, gamma, nHeads, nKvHeads, kvTiled, options);
        ScaleResult mlp = gatedMlp(wGate, wUp, wDown, gamma, options);
        double a2 = att.scale() * att.scale();
        double m2 = mlp.scale() * mlp.scale();
        double total = a2 + m2;
        double error = total > 0 ? (att.relativeStdError() * a2 + mlp.relativeStdError() * m2) / total : 0.0;
        return new ScaleResult(Math.sqrt(total), att.estimated() || mlp.estimated(), error, att.probes() + mlp.probes(),
                mlp.powerIterations(), mlp.powerResidual());
    }

    /**
     * A norm reading another norm's output directly (LN(LN(x)), the final norm of a post-norm stack): the input is
     * Gamma x_hat (+ bias, ignored like every bias), so s = ||Gamma||_F (sqrt(d) without a gain).
     */
    public static ScaleResult normOfNorm(double[] gamma, int d) {
        double[] g = checkedGamma(gamma, d, "norm after norm");
        return new ScaleResult(Math.sqrt(squaredNorm(g, d)), false, 0.0, 0, 0, 0.0);
    }

    /**
     * A norm over {@code groups} equal row groups (heads) of one projection of a norm's output, with no residual
     * (q_norm / k_norm over head_dim): group h sees W_h Gamma x_hat, E||.||^2 = ||W_h Gamma||_F^2; one scale serves
     * all groups, their root mean square: s = ||W Gamma||_F / sqrt(groups).
     */
    public static ScaleResult projectionGroups(MatrixView w, double[] gamma, int groups) {
        if (groups <= 0 || w.rows() % groups != 0) {
            throw new IllegalArgumentException("projection: " + w.rows() + " rows of '" + w.name()
                    + "' are not " + groups + " equal groups");
        }
        double[] g = checkedGamma(gamma, w.cols(), "projection");
        int cols = w.cols();
        int chunk = Math.max(1, Math.min(w.rows(), (1 << 16) / Math.max(1, cols)));
        double[] rows = new double[chunk * cols];
        double sum = 0;
        for (int r0 = 0; r0 < w.rows(); r0 += chunk) {
            int r1 = Math.min(w.rows(), r0 + chunk);
            w.copyRows(r0, r1, rows);
            for (int i = 0; i < (r1 - r0) * cols; i++) {
                double v = g == null ? rows[i] : rows[i] * g[i % cols];
                sum += v * v;
            }
        }
        return new ScaleResult(Math.sqrt(sum / groups), false, 0.0, 0, 0, 0.0);
    }

    /**
     * The outer norm of an attention sandwich, x + norm_out(attn(norm_in(x))) (Gemma2 / Gemma3
     * pre_feedforward_layernorm; docs/method.md): the residual is taken as Gamma_in x_hat as in the paper, and the
     * inner norm, linearised, maps the attention output M x_hat (M = W_o W_v Gamma_in) to sqrt(d) Gamma_out M x_hat /
     * ||M||_F, so s = ||(I + c Gamma_out W_o W_v) Gamma_in||_F with c = sqrt(d) / ||M||_F.
     */
    public static ScaleResult sandwichAttention(MatrixView wv, MatrixView wo, double[] gammaIn, double[] gammaOut,
                                                int nHeads, int nKvHeads, boolean kvTiled, Options options) {
        Objects.requireNonNull(options, "options");
        BlockSource folded = foldedOutput(wv, wo, nHeads, nKvHeads, kvTiled, "sandwich attention", true);
        int d = wo.rows();
        double[] gIn = checkedGamma(gammaIn, wv.cols(), "sandwich attention");
        double[] gOut = checkedGamma(gammaOut, d, "sandwich attention");
        try (WorkerPool pool = new WorkerPool(options.threads())) {
            ProductFrobenius.Result m = ProductFrobenius.compute(folded, wv, wv.transposed(), gIn, false, options, pool);
            if (!(m.squaredNorm() > 0)) {
                return new ScaleResult(Math.sqrt(squaredNorm(gIn, d)), m.estimated(), m.relativeStdError(), m.probes(), 0, 0.0);
            }
            double c = Math.sqrt(d / m.squaredNorm());
            double[] rowScale = new double[d];
            for (int i = 0; i < d; i++) {
                rowScale[i] = c * (gOut == null ? 1.0 : gOut[i]);
            }
            ProductFrobenius.Result f = ProductFrobenius.compute(new RowScaled(folded, rowScale), wv, wv.transposed(), gIn,
                    true, options, pool);
            return new ScaleResult(Math.sqrt(f.squaredNorm()), f.estimated() || m.estimated(),
                    Math.max(f.relativeStdError(), m.relativeStdError()), f.probes() + m.probes(), 0, 0.0);
        }
    }

    /**
     * The outer norm of a gated-MLP sandwich, x + norm_out(mlp(norm_in(x))): the normalised gated branch is even in
     * x_hat and the residual Gamma_in x_hat odd, so the cross term vanishes: s = sqrt(||Gamma_in||_F^2 + ||Gamma_out||_F^2).
     */
    public static ScaleResult sandwichGated(double[] gammaIn, double[] gammaOut, int d) {
        double[] gIn = checkedGamma(gammaIn, d, "sandwich gated MLP");
        double[] gOut = checkedGamma(gammaOut, d, "sandwich gated MLP");
        return new ScaleResult(Math.sqrt(squaredNorm(gIn, d) + squaredNorm(gOut, d)), false, 0.0, 0, 0, 0.0);
    }

    /** sum gamma_i^2, or d for the identity. */
    private static double squaredNorm(double[] gamma, int d) {
        if (gamma == null) {
            return d;
        }
        double s = 0;
        for (double g : gamma) {
            s += g * g;
        }
        return s;
    }

    /** W_o with the columns of query heads sharing a kv head summed (W_o itself without grouping), after the checks. */
    private static BlockSource foldedOutput(MatrixView wv, MatrixView wo, int nHeads, int nKvHeads, boolean kvTiled,
                                            String where, boolean squareResidual) {
        if (nHeads <= 0 || nKvHeads <= 0 || nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException(where + ": nHeads (" + nHeads + ") must be a positive multiple of nKvHeads ("
                    + nKvHeads + ")");
        }
        if (wo.cols() % nHeads != 0) {
            throw new IllegalArgumentException(where + ": W_o '" + wo.name() + "' has " + wo.cols()
                    + " input columns, not divisible by nHeads " + nHeads);
        }
        int headDim = wo.cols() / nHeads;
        if (wv.rows() != nKvHeads * headDim) {
            throw new IllegalArgumentException(where + ": W_v '" + wv.name() + "' has " + wv.rows() + " output rows, expected nKvHeads * headDim = "
                    + nKvHeads + " * " + headDim + " (W_o '" + wo.name() + "' is " + wo.rows() + " x " + wo.cols() + ")");
        }
        if (squareResidual && wv.cols() != wo.rows()) {
            throw new IllegalArgumentException(where + ": W_v '" + wv.name() + "' reads " + wv.cols() + " inputs but W_o '"
                    + wo.name() + "' writes " + wo.rows() + " outputs; the residual needs both equal to d");
        }
        return nKvHeads == nHeads ? wo : new HeadFoldedColumns(wo, nHeads, nKvHeads, kvTiled);
    }

    /** {@link #gatedMlp(MatrixView, MatrixView, MatrixView, double[], Options)} with default options. */
    public static ScaleResult gatedMlp(MatrixView wGate, MatrixView wUp, MatrixView wDown, double[] gammaPost) {
        return gatedMlp(wGate, wUp, wDown, gammaPost, Options.defaults());
    }

    /**
     * Norm after a gated (SwiGLU) MLP: s = ||W_down W_up Gamma_post||_F * ||W_gate Gamma_post||_2 (no residual).
     *
     * @param wGate     W_gate [d_ff x d]
     * @param wUp       W_up [d_ff x d]
     * @param wDown     W_down [d x d_ff]
     * @param gammaPost gain of the norm in front of the MLP, length d, or null
     */
    public static ScaleResult gatedMlp(MatrixView wGate, MatrixView wUp, MatrixView wDown, double[] gammaPost,
                                       Options options) {
        Objects.requireNonNull(options, "options");
        int d = wUp.cols();
        int dff = wUp.rows();
        if (wGate.rows() != dff || wGate.cols() != d) {
            throw new IllegalArgumentException("gated MLP: W_gate '" + wGate.name() + "' is " + wGate.rows() + " x " + wGate.cols()
                    + ", W_up '" + wUp.name() + "' is " + dff + " x " + d + "; they must match");
        }
        if (wDown.rows() != d || wDown.cols() != dff) {
            throw new IllegalArgumentException("gated MLP: W_down '" + wDown.name() + "' is " + wDown.rows() + " x " + wDown.cols()
                    + ", expected " + d + " x " + dff + " (d x d_ff)");
        }
        double[] gamma = checkedGamma(gammaPost, d, "gated MLP");
        try (WorkerPool pool = new WorkerPool(options.threads())) {
            ProductFrobenius.Result f = ProductFrobenius.compute(wDown, wUp, wUp.transposed(), gamma, false, options, pool);
            SpectralNorm.Result spectral = SpectralNorm.compute(wGate, gamma, options.powerTolerance(),
                    SpectralNorm.stepLimit(wGate, options.powerMaxIterations()), options.seed() ^ 0x9E3779B97F4A7C15L, pool);
            return new ScaleResult(Math.sqrt(f.squaredNorm()) * spectral.sigma(), f.estimated(), f.relativeStdError(),
                    f.probes(), spectral.iterations(), spectral.relativeResidual());
        }
    }

    /** {@link #plainMlp(MatrixView, MatrixView, double[], Options)} with default options. */
    public static ScaleResult plainMlp(MatrixView w1, MatrixView w2, double[] gammaPrev) {
        return plainMlp(w1, w2, gammaPrev, Options.defaults());
    }

    /**
     * Norm after a plain MLP (activation treated as identity): s = ||(I + W_2 W_1) Gamma_prev||_F.
     *
     * @param w1 W_1 [d_ff x d]
     * @param w2 W_2 [d x d_ff]
     */
    public static ScaleResult plainMlp(MatrixView w1, MatrixView w2, double[] gammaPrev, Options options) {
        Objects.requireNonNull(options, "options");
        if (w2.cols() != w1.rows() || w2.rows() != w1.cols()) {
            throw new IllegalArgumentException("plain MLP: W_1 '" + w1.name() + "' is " + w1.rows() + " x " + w1.cols() + ", W_2 '"
                    + w2.name() + "' is " + w2.rows() + " x " + w2.cols() + "; expected d_ff x d and d x d_ff");
        }
        double[] gamma = checkedGamma(gammaPrev, w1.cols(), "plain MLP");
        try (WorkerPool pool = new WorkerPool(options.threads())) {
            ProductFrobenius.Result f = ProductFrobenius.compute(w2, w1, w1.transposed(), gamma, options.residual(), options, pool);
            return new ScaleResult(Math.sqrt(f.squaredNorm()), f.estimated(), f.relativeStdError(), f.probes(), 0, 0.0);
        }
    }

    /**
     * The power of two nearest to s in the log2 sense: 2^round(log2 s), with the fractional part of log2 s
     * compared to 1/2, i.e. s = m 2^e (1 <= m < 2) rounds up exactly when m >= sqrt(2). The exponent is clamped
     * to [-126, 126] so that both s and 1/s are normal float32 numbers. Multiplying by a power of two is exact in
     * every float format as long as the result stays normal.
     *
     * @throws IllegalArgumentException for s <= 0, NaN or infinity
     */
    public static double roundToPowerOfTwo(double s) {
        if (!(s > 0) || Double.isInfinite(s)) {
            throw new IllegalArgumentException("SLaNC scale must be positive and finite, got " + s);
        }
        if (s < 0x1p-126) {
            return 0x1p-126;
        }
        int exponent = Math.getExponent(s);
        double mantissa = s / Math.scalb(1.0, exponent);
        if (mantissa >= Math.sqrt(2.0)) {
            exponent++;
        }
        return Math.scalb(1.0, Math.max(-126, Math.min(126, exponent)));
    }

    /** Copies gamma after checking its length and finiteness; null stays null (identity). */
    private static double[] checkedGamma(double[] gamma, int d, String where) {
        if (gamma == null) {
            return null;
        }
        if (gamma.length != d) {
            throw new IllegalArgumentException(where + ": gamma has " + gamma.length + " values, expected d = " + d);
        }
        for (int i = 0; i < d; i++) {
            if (!Double.isFinite(gamma[i])) {
                throw new IllegalArgumentException(where + ": gamma contains " + gamma[i] + " at index " + i);
            }
        }
        return gamma.clone();
    }
}
