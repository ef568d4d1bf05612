package io.onnxslanc.samples.experiment;

import ai.onnxruntime.OrtEnvironment;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.io.TempFiles;
import io.onnxslanc.samples.amplify.AmplifyReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The paper's experiment on models small enough for a CPU: the residual stream of stories260K (and of MiniLM) is
 * amplified by c with {@link io.onnxslanc.samples.amplify.ResidualAmplifier}, which keeps the FP32 function and makes
 * every norm's input c times larger, as in large LLMs; then each amplified model runs in FP32, with FP16 storage,
 * with naive FP16 norms, with SLaNC before naive FP16 norms, and with the norms kept in FP32 (FP16 emulated on the
 * CPU provider with explicit Cast pairs; see {@link Variant}).
 *
 * <pre>{@code
 * ExperimentResult r = SlancExperiment.run(ExperimentOptions.defaults(), System.err::println);
 * System.out.print(r.toText());
 * }</pre>
 */
public final class SlancExperiment {
    private SlancExperiment() {
    }

    /** Runs everything; {@code progress} receives one line per step. */
    public static ExperimentResult run(ExperimentOptions options, Consumer<String> progress) {
        SessionFactory factory = SessionFactory.cpu();
        Path dir = options.workDir();
        boolean temporary = dir == null;
        try {
            dir = temporary ? Files.createTempDirectory("slanc-experiment") : Files.createDirectories(dir);
            StoriesExperiment stories = new StoriesExperiment(options, factory, progress);
            List<ExperimentResult.LmRow> lm = stories.run(dir);
            MiniLmExperiment encoder = new MiniLmExperiment(factory, progress);
            List<ExperimentResult.EncoderRow> enc = options.miniLmFactors().isEmpty() ? List.of()
                    : encoder.run(options.miniLmFactors(), dir, !temporary);
            String runtime = "ONNX Runtime " + OrtEnvironment.getEnvironment().getVersion() + ", CPU provider, "
                    + "optimisation level " + SessionFactory.optLevelName(factory.optLevel());
            List<ExperimentResult.Diagnostic> diagnostics = new ArrayList<>(stories.diagnostics);
            diagnostics.addAll(encoder.diagnostics);
            return new ExperimentResult(runtime, protocol(options, stories.describedProtocol, !enc.isEmpty()), lm, enc,
                    diagnostics, notes(lm, enc, stories.models, encoder.models, diagnostics, encoder.fallbackNotes));
        } catch (IOException e) {
            throw new UncheckedIOException("experiment: " + e.getMessage(), e);
        } finally {
            if (temporary && dir != null) {
                TempFiles.deleteTreeQuietly(dir);
            }
        }
    }

    /**
     * MiniLM alone, at each factor (no stories260K rows): what the demo runs on a machine without the stories260K
     * data. Needs only the MiniLM jar from the local Maven repository.
     */
    public static ExperimentResult runMiniLm(List<Double> factors, Consumer<String> progress) {
        SessionFactory factory = SessionFactory.cpu();
        Path dir = null;
        try {
            dir = Files.createTempDirectory("slanc-experiment");
            MiniLmExperiment encoder = new MiniLmExperiment(factory, progress);
            List<ExperimentResult.EncoderRow> enc = encoder.run(factors, dir, false);
            String runtime = "ONNX Runtime " + OrtEnvironment.getEnvironment().getVersion() + ", CPU provider, "
                    + "optimisation level " + SessionFactory.optLevelName(factory.optLevel());
            return new ExperimentResult(runtime, List.of(), List.of(), enc, encoder.diagnostics,
                    notes(List.of(), enc, List.of(), encoder.models, encoder.diagnostics, encoder.fallbackNotes));
        } catch (IOException e) {
            throw new UncheckedIOException("experiment: " + e.getMessage(), e);
        } finally {
            if (dir != null) {
                TempFiles.deleteTreeQuietly(dir);
            }
        }
    }

    private static List<String> protocol(ExperimentOptions o, String perplexityProtocol, boolean miniLm) {
        List<String> p = new ArrayList<>();
        p.add("stories260K: " + o.checkpoint().getFileName() + " imported by Llama2cImporter with decomposed RMSNorms "
                + "(Pow, ReduceMean, Add eps, Sqrt, Reciprocal, Mul, Mul gain; eps 1e-5; opset 17).");
        p.add("Amplification by c (ResidualAmplifier; FP32 function unchanged, bit-exact for powers of two): pre-norm "
                + "stories260K: a Mul by c after the embedding Gather (the embedding is tied to the classifier and is not "
                + "edited), W_o and W_down replaced by copies times c, every epsilon times c^2. Post-norm MiniLM: a Mul by c "
                + "on the embedding sum, gains and biases of the 12 non-final LayerNorms times c, the readers of the stream "
                + "W_q, W_k, W_v, W_1 divided by c (biases kept), W_o, W_2 and their biases times c, every epsilon times "
                + "c^2. c = 1 is the model as imported.");
        p.add("Perplexity: " + perplexityProtocol + " of " + o.text().getFileName() + " (the first " + o.maxPositions()
                + " positions, BOS counted; at N = 512 the FP32 model gives the reference 3.7107); ppl = exp(total NLL / "
                + "tokens scored), log-softmax and sums in double.");
        p.add("(a) FP32: ONNX Runtime on the FP32 model. (b) FP16 storage: Emulation fp16-storage, every float tensor "
                + "(activations, weights, constants, inputs) rounded to FP16 by explicit Cast pairs, arithmetic in FP32; "
                + "the decomposed norm's x^2 is such a tensor, so it is inf once |x| > 255.9. (c) FP16 naive norms: "
                + "Emulation fp16-naive-norms, (b) plus every norm's sum of squares held in FP16 (ReduceMean(x^2) becomes "
                + "ReduceSum(x^2) / d), inf once it passes 65504. (d) FP16 + SLaNC: Slanc.calibrate (power-of-two "
                + "scales, the first norm at s = 1 as in the paper, i.e. --first-norm-unit; the tool's default scales it "
                + "from the embedding table) on the amplified model, then (c). (e) FP16, norms FP32: Emulation fp16-fp32-norms, "
                + "(b) except inside the norms the matcher finds (the nodes Fp16Converter keeps in FP32 with normsFp32): "
                + "their intermediates and own constants are not rounded, their input and output are.");
        p.add("Every emulated session is checked: all emulation Casts on computed tensors survive ONNX Runtime's "
                + "optimisation, else the run fails.");
        p.add("overflowing norms: NormProbe on the FP32 run of the variant's graph (the amplified graph for (a), (b), "
                + "(c), (e); the SLaNC-calibrated graph for (d)), same inputs: norms with a row whose sum of squares, "
                + "accumulated left to right in FP16, is inf. It predicts (c) and (d), which accumulate in FP16; (a) and "
                + "(e) never do. max |x| into a norm: the largest element entering any norm of that graph (a single square "
                + "overflows FP16 above 255.9, which hits (b), (c) and (d)).");
        p.add("nodes / Casts: nodes other than Constant, and Cast nodes, in the variant's deployable model, built but not "
                + "run: (a) the FP32 model, (b) and (c) Fp16Converter with default options, (d) Slanc.calibrate then "
                + "Fp16Converter, (e) Fp16Converter with normsFp32 = true.");
        if (miniLm) {
            p.add("MiniLM: all-MiniLM-L6-v2 (" + io.onnxslanc.samples.SampleModels.MINILM.coordinates() + "), "
                    + MiniLmExperiment.SENTENCES.size() + " fixed English sentences, each tokenised alone with the model's "
                    + "tokenizer.json ([CLS] ... [SEP]); embedding = mean of last_hidden_state over the tokens; cosine (in "
                    + "double) to the unamplified FP32 model's embedding, smallest and mean over the sentences. The probe "
                    + "runs on the same sentences.");
        }
        return p;
    }

    private static List<String> notes(List<ExperimentResult.LmRow> lm, List<ExperimentResult.EncoderRow> enc,
                                      List<FactorModels> stories, List<FactorModels> miniLm,
                                      List<ExperimentResult.Diagnostic> diagnostics, List<String> fallbackNotes) {
        List<String> notes = new ArrayList<>();
        double ref = Double.NaN;
        double worst = 0;
        for (ExperimentResult.LmRow r : lm) {
            if (r.variant() == Variant.FP32) {
                ref = Double.isNaN(ref) ? r.perplexity() : ref;
                worst = Math.max(worst, Math.abs(r.perplexity() - ref) / ref);
            }
        }
        if (!lm.isEmpty()) {
            notes.add(String.format(Locale.ROOT, "stories260K FP32 perplexity is the same at every c: largest relative "
                    + "difference to c = %s is %.1e.", AmplifyReport.format(lm.get(0).factor()), worst));
        }
        for (ExperimentResult.LmRow r : lm) {
            if (r.variant() == Variant.FP32 && r.maxAbs() > FP16_MAX) {
                notes.add(unrepresentable("stories260K", r.factor(), r.maxAbs()));
            }
        }
        for (ExperimentResult.EncoderRow r : enc) {
            if (r.variant() == Variant.FP32 && r.maxAbs() > FP16_MAX) {
                notes.add(unrepresentable("MiniLM", r.factor(), r.maxAbs()));
            }
        }
        for (ExperimentResult.LmRow r : lm) {
            if (r.variant() == Variant.SLANC && r.overflowingNorms() > 0) {
                notes.add("stories260K, c = " + AmplifyReport.format(r.factor()) + ": after SLaNC, "
                        + describe(r.overflowing(), find(stories, r.factor()).slanc) + " still overflow"
                        + (r.overflowing().size() == 1 ? "s" : "") + ".");
            }
        }
        for (ExperimentResult.EncoderRow r : enc) {
            if (r.variant() == Variant.SLANC && r.overflowingNorms() > 0) {
                notes.add("MiniLM, c = " + AmplifyReport.format(r.factor()) + ": after SLaNC, "
                        + describe(r.overflowing(), find(miniLm, r.factor()).slanc) + " still overflow"
                        + (r.overflowing().size() == 1 ? "s" : "") + ".");
            }
        }
        notes.addAll(fallbackNotes);
        for (ExperimentResult.Diagnostic d : diagnostics) {
            notes.add(String.format(Locale.ROOT, "(d') SLaNC with --first-norm-from-embedding (not the paper's s = 1 rule), %s, c = %s: the first "
                    + "norm's scale taken from the embedding tables (largest row norm reaching it, times c, rounded to a "
                    + "power of two: s = %s) instead of s = 1, same naive-norm emulation: %s %s%s, %d / %d norms overflowing.",
                    d.model(), AmplifyReport.format(d.factor()), AmplifyReport.format(d.firstScale()),
                    d.model().equals("MiniLM") ? "min cos" : "ppl",
                    d.model().equals("MiniLM") ? ExperimentResult.cosine(d.value()) : ExperimentResult.ppl(d.value()),
                    Double.isNaN(d.relativeChange()) ? "" : " (" + ExperimentResult.percent(d.relativeChange()) + " vs FP32)",
                    d.overflowingNorms(), d.norms()));
        }
        return notes;
    }

    private static final double FP16_MAX = 65504;

    private static String unrepresentable(String model, double c, double maxAbs) {
        return String.format(Locale.ROOT, "%s, c = %s: the largest value entering a norm, %.3g, is beyond FP16's largest "
                + "finite 65504: the residual stream itself does not fit in FP16, so every FP16 variant fails there "
                + "whatever its norms do.", model, AmplifyReport.format(c), maxAbs);
    }

    private static FactorModels find(List<FactorModels> models, double c) {
        return models.stream().filter(m -> m.factor == c).findFirst().orElseThrow();
    }

    /** "norm 'x' (block first, s = 1)" for each name. */
    private static String describe(List<String> names, CalibrationReport slanc) {
        List<String> parts = new ArrayList<>();
        for (String n : names) {
            CalibrationReport.Norm norm = slanc.norm(n);
            parts.add("'" + n + "'" + (norm == null ? "" : " (" + norm.block() + " norm, SLaNC s = "
                    + (norm.scale() == null ? "none" : AmplifyReport.format(norm.scale())) + ")"));
        }
        return String.join(", ", parts);
    }
}
