package io.onnxslanc;

import io.onnxslanc.calibrate.BranchConsistency;
import io.onnxslanc.calibrate.CalibrationException;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.NormCalibration;
import io.onnxslanc.calibrate.SlancCalibrator;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.calibrate.blocks.BlockFinder;
import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import io.onnxslanc.match.NormCandidates;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import io.onnxslanc.rewrite.SlancRewrite;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * SLaNC in a few lines: find the norms, identify the blocks in front of them, compute each norm's static scale
 * from the weights, and rewrite the model so that every norm sees x / s with epsilon / s^2.
 *
 * <pre>{@code
 * CalibrationReport report = Slanc.calibrate(model, SlancOptions.defaults());
 * Slanc.calibrateFile(Path.of("model.onnx"), Path.of("model.slanc.onnx"), SlancOptions.defaults());
 * }</pre>
 *
 * Calibrating twice is harmless: a calibrated model is recognised and left as it is.
 */
public final class Slanc {

    private Slanc() {
    }

    /**
     * Calibrates {@code model} in place (unless {@link SlancOptions#dryRun()}) and reports what was done.
     * With {@link SlancOptions#strict()}, a result with unscaled non-first norms (or norm-like candidates and no
     * norm at all) throws {@link StrictCheckException} carrying the report; nothing should be written then (the
     * in-memory model may already hold the scales of the other norms).
     *
     * @throws CalibrationException when a weight or gain the formulas read holds NaN or infinity; the model is
     *                              unchanged then
     */
    public static CalibrationReport calibrate(Model model, SlancOptions options) {
        List<NormSite> sites = NormMatcher.findAll(model.graph());
        if (SlancRewrite.isCalibrated(model, sites)) {
            String how = model.metadata().containsKey(SlancRewrite.MARKER)
                    ? "metadata " + SlancRewrite.MARKER + "=" + model.metadata().get(SlancRewrite.MARKER)
                    : SlancRewrite.MUL_PREFIX + "* Muls in front of its norms";
            return CalibrationReport.alreadyCalibrated(how);
        }
        List<NormCandidates.Candidate> candidates = NormCandidates.unmatched(model.graph(), sites);
        List<NormBlock> blocks = BlockFinder.findAll(model.graph(), sites);
        List<NormCalibration> calibrations = SlancCalibrator.compute(blocks, options); // throws before any change
        List<SlancRewrite.Applied> applied = options.dryRun()
                ? SlancRewrite.preview(calibrations) : SlancRewrite.apply(model, calibrations);
        if (!options.dryRun()) {
            model.graph().verify();
        }
        List<CalibrationReport.Norm> norms = new ArrayList<>();
        List<String> warnings = new ArrayList<>(BranchConsistency.check(calibrations)); // If branches: same decoder, same scales
        int unscaled = 0;
        for (SlancRewrite.Applied a : applied) {
            NormCalibration c = a.calibration();
            boolean done = a.multiplier() != null || !c.changesModel();
            CalibrationReport.Norm n = CalibrationReport.Norm.of(c, a.epsilonBefore(), a.epsilonAfter(), done, a.warnings());
            norms.add(n);
            String subgraph = n.subgraph(); // the branches of a merged decoder repeat norm names: say which one
            a.warnings().forEach(w -> warnings.add(subgraph == null ? w : w + " (in " + subgraph + ")"));
            if (n.scale() == null) {
                unscaled++;
            }
        }
        if (unscaled > 0) {
            warnings.add(unscaled + " of " + norms.size() + " norms left unscaled; see their \"reason\"");
        }
        if (sites.isEmpty()) {
            warnings.add(candidates.isEmpty() ? "no LayerNorm / RMSNorm found"
                    : "no LayerNorm / RMSNorm matched, but " + candidates.size() + " norm-like candidate"
                    + (candidates.size() == 1 ? "" : "s") + " did not match; see \"candidates\" for the reasons");
        } else if (!candidates.isEmpty()) {
            warnings.add(candidates.size() + " norm-like candidate" + (candidates.size() == 1 ? "" : "s")
                    + " did not match a norm pattern; see \"candidates\" for the reasons");
        }
        CalibrationReport report = new CalibrationReport(false, options.dryRun(), norms, warnings, candidates);
        if (options.strict() && report.strictViolations() > 0) {
            throw new StrictCheckException(report);
        }
        return report;
    }

    /**
     * The structure step alone: the block in front of each norm of {@code sites} (as {@link NormMatcher#findAll}
     * found them in {@code model}): its kind, the norm feeding it, the weights its formula reads, in the order of
     * {@code sites}. Nothing is computed or changed; for tools that rewrite along the same structure (the samples'
     * residual amplifier).
     */
    public static List<NormBlock> blocks(Model model, List<NormSite> sites) {
        return BlockFinder.findAll(model.graph(), sites);
    }

    /** Reads {@code in}, calibrates it and writes {@code out} (nothing is written if calibration fails). */
    public static CalibrationReport calibrateFile(Path in, Path out, SlancOptions options) {
        return calibrateFile(in, out, options, WriteOptions.defaults());
    }

    public static CalibrationReport calibrateFile(Path in, Path out, SlancOptions options, WriteOptions write) {
        Model model = ModelReader.read(in);
        CalibrationReport report;
        try {
            report = calibrate(model, options);
        } catch (CalibrationException e) {
            throw new CalibrationException(in + ": " + e.getMessage(), e);
        }
        if (!options.dryRun()) {
            ModelWriter.write(model, out, write);
        }
        return report;
    }
}
