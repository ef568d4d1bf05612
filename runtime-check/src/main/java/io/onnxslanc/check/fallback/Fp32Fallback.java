package io.onnxslanc.check.fallback;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.probe.ActivationProbe;
import io.onnxslanc.check.probe.NormProbe;
import io.onnxslanc.check.probe.NormStats;
import io.onnxslanc.check.probe.NormTap;
import io.onnxslanc.check.probe.NormTaps;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.TempFiles;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * --fp32-fallback auto: SLaNC keeps every norm's statistics in FP16 range, but an activation that itself exceeds
 * 65504 (the residual stream of a model whose stream is that large, an FFN output) still breaks FP16. This measures
 * every activation of the SLaNC-calibrated FP32 model on sample inputs ({@link ActivationProbe}) and the FP16 sums of
 * squares of every norm ({@link NormProbe}), then:
 * <ol>
 * <li>static first: when a {@link StaticRescale} is given and activations overflow, the residual stream is multiplied by
 *     the power of two 2^-k that brings the largest one under the limit (exact, function unchanged), SLaNC recalibrates,
 *     and the probe runs again; the rescale is kept when it leaves fewer nodes to keep in FP32;</li>
 * <li>what still overflows becomes FP32 islands: every node that produces or reads a tensor with |x| >= limit, and
 *     every node of a norm whose FP16 sum of squares overflows, for the converter's node block list.</li>
 * </ol>
 *
 * <pre>{@code
 * Fp32Fallback.Plan plan = Fp32Fallback.plan(in, SlancOptions.defaults(), inputs, SessionFactory.cpu(),
 *         Fp32Fallback.Options.defaults().withRescale(ResidualRescale.INSTANCE));
 * Fp16Converter.convert(plan.model(), Fp16Options.defaults().withNodeBlockList(plan.report().nodeNames()));
 * }</pre>
 */
public final class Fp32Fallback {
    public static final double FP16_MAX = 65504;

    private Fp32Fallback() {
    }

    /**
     * @param margin  a tensor overflows when max |x| * margin >= 65504 (the samples do not show every input's peak)
     * @param rescale the static rescale to try first, or null for islands only
     */
    public record Options(double margin, StaticRescale rescale) {
        public Options {
            if (!(margin >= 1) || Double.isInfinite(margin)) {
                throw new IllegalArgumentException("fp32 fallback margin must be finite and >= 1, got " + margin);
            }
        }

        /** Margin 2 (one binary order of magnitude of headroom beyond the samples' peak), no static rescale. */
        public static Options defaults() {
            return new Options(2, null);
        }

        public Options withMargin(double m) {
            return new Options(m, rescale);
        }

        public Options withRescale(StaticRescale r) {
            return new Options(margin, r);
        }
    }

    /**
     * @param model       the FP32 model to convert: rescaled when the report says so, SLaNC-calibrated when asked,
     *                    every node named (the block list names them)
     * @param calibration SLaNC's report on it (null without SLaNC)
     */
    public record Plan(Model model, CalibrationReport calibration, FallbackReport report) {
    }

    /** Plans the fallback for the model in {@code modelFile}; {@code slanc} null: no SLaNC. */
    public static Plan plan(Path modelFile, SlancOptions slanc, List<Map<String, TensorData>> inputs, SessionFactory factory,
                            Options options) {
        double limit = FP16_MAX / options.margin();
        Measured base = measure(modelFile, 1, null, slanc, inputs, factory, limit);
        Measured chosen = base;
        String note;
        if (base.islands.isEmpty()) {
            note = "not needed: no activation reaches the limit";
        } else if (options.rescale() == null) {
            note = "none given";
        } else if (!Double.isFinite(base.overflowMax)) {
            note = "not possible: an activation is already NaN or infinite in FP32";
        } else {
            int k = Math.max(1, (int) Math.ceil(Math.log(base.overflowMax / limit) / Math.log(2)));
            double factor = Math.scalb(1.0, -k);
            try {
                Measured rescaled = measure(modelFile, factor, options.rescale(), slanc, inputs, factory, limit);
                if (rescaled.islands.size() < base.islands.size()) {
                    chosen = rescaled;
                    note = "used, " + rescaled.rescaleNote + "; FP32 nodes " + base.islands.size() + " -> " + rescaled.islands.size();
                } else {
                    note = "tried x 2^-" + k + " (" + rescaled.rescaleNote + "), not used: it leaves " + rescaled.islands.size()
                            + " FP32 nodes, no fewer than " + base.islands.size();
                }
            } catch (IllegalArgumentException e) {
                note = "not applicable to this model: " + e.getMessage();
            }
        }
        FallbackReport report = new FallbackReport(limit, base.maxAbs, chosen.factor, note, chosen.maxAbs,
                chosen.islands, inputs.size());
        return new Plan(chosen.model, chosen.calibration, report);
    }

    /** One candidate model: read, rescaled, calibrated, measured. */
    private record Measured(Model model, CalibrationReport calibration, double factor, String rescaleNote, double maxAbs,
                            double overflowMax, List<Fp32Node> islands) {
    }

    private static Measured measure(Path modelFile, double factor, StaticRescale rescale, SlancOptions slanc,
                                    List<Map<String, TensorData>> inputs, SessionFactory factory, double limit) {
        Model m = ModelReader.read(modelFile);
        String note = factor == 1 ? "" : rescale.apply(m, factor);
        CalibrationReport cal = slanc == null ? null : Slanc.calibrate(m, slanc);
        nameUnnamedNodes(m);
        Path dir = null;
        try {
            dir = Files.createTempDirectory("slanc-fallback");
            Path file = dir.resolve("planned.onnx");
            ModelWriter.write(m, file);
            ModelSource source = ModelSource.parsed(file);
            Map<String, Double> maxAbs = ActivationProbe.maxAbs(source, inputs, factory);
            List<NormTap> taps = NormTaps.of(ModelReader.read(file));
            List<NormStats> norms = taps.isEmpty() ? List.of() : NormProbe.run(source, taps, inputs, factory).norms();
            double max = maxAbs.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
            double overflowMax = maxAbs.values().stream().mapToDouble(Double::doubleValue).filter(v -> v >= limit).max().orElse(0);
            return new Measured(m, cal, factor, note, max, overflowMax, islands(m, maxAbs, norms, limit));
        } catch (IOException e) {
            throw new UncheckedIOException("fp32 fallback: cannot write the model to probe: " + e.getMessage(), e);
        } finally {
            TempFiles.deleteTreeQuietly(dir);
        }
    }

    /** Nodes producing or reading a tensor at or over the limit, and the nodes of norms whose FP16 sum overflows. */
    static List<Fp32Node> islands(Model m, Map<String, Double> maxAbs, List<NormStats> norms, double limit) {
        Map<Node, Fp32Node> out = new LinkedHashMap<>();
        for (Node n : m.graph().nodes()) {
            for (Value o : n.outputs()) {
                double a = maxAbs.getOrDefault(o.name(), 0.0);
                if (a >= limit) {
                    out.putIfAbsent(n, new Fp32Node(n.name(), n.opType(), a, "output '" + o.name() + "' max |x| " + FallbackReport.g(a)));
                }
            }
            for (Value in : n.inputs()) {
                double a = in == null ? 0 : maxAbs.getOrDefault(in.name(), 0.0);
                if (a >= limit) {
                    out.putIfAbsent(n, new Fp32Node(n.name(), n.opType(), a, "reads '" + in.name() + "' (max |x| " + FallbackReport.g(a) + ")"));
                }
            }
        }
        List<String> overflowing = norms.stream().filter(NormStats::overflowsFp16).map(NormStats::normName).toList();
        if (!overflowing.isEmpty()) {
            for (NormSite site : NormMatcher.findAll(m.graph())) {
                if (!overflowing.contains(site.name())) {
                    continue;
                }
                NormStats s = norms.stream().filter(x -> x.normName().equals(site.name())).findFirst().orElseThrow();
                for (Node n : site.nodes()) {
                    out.putIfAbsent(n, new Fp32Node(n.name(), n.opType(), s.maxAbs(), "in norm '" + site.name()
                            + "', whose FP16 sum of squares overflows (max " + FallbackReport.g(s.maxSumSq()) + ")"));
                }
            }
        }
        return new ArrayList<>(out.values());
    }

    /** The converter's node block list names nodes: give every unnamed main-graph node a unique name. */
    private static void nameUnnamedNodes(Model m) {
        for (Node n : m.graph().nodes()) {
            if (n.name() == null || n.name().isEmpty()) {
                n.setName(m.graph().uniqueName("fallback_" + n.opType()));
            }
        }
    }
}
