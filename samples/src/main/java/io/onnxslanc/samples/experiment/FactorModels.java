package io.onnxslanc.samples.experiment;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.probe.NormProbe;
import io.onnxslanc.check.probe.NormStats;
import io.onnxslanc.check.probe.NormTaps;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.samples.amplify.AmplifyReport;
import io.onnxslanc.samples.amplify.ResidualAmplifier;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The models of one amplification factor: the amplified FP32 model and its SLaNC-calibrated copy (both written to
 * files), with what the probe measured in each and the node counts of each variant's deployable model.
 */
final class FactorModels {
    final double factor;
    final Path amplified;
    final Path calibrated;
    final AmplifyReport amplification;
    final CalibrationReport slanc;
    private final Map<Boolean, List<NormStats>> probes = new HashMap<>();
    private final Map<Variant, ModelCounts> counts = new EnumMap<>(Variant.class);

    private FactorModels(double factor, Path amplified, Path calibrated, AmplifyReport amplification, CalibrationReport slanc) {
        this.factor = factor;
        this.amplified = amplified;
        this.calibrated = calibrated;
        this.amplification = amplification;
        this.slanc = slanc;
    }

    /** Amplifies {@code base} by c (c = 1: the base model itself) and calibrates a copy with SLaNC. */
    static FactorModels prepare(Path base, double c, Path dir, String name) {
        String tag = name + ".x" + AmplifyReport.format(c);
        Model m = ModelReader.read(base);
        AmplifyReport amplification = ResidualAmplifier.amplify(m, c);
        Path amplified = base;
        if (amplification.changed()) {
            amplified = dir.resolve(tag + ".onnx");
            ModelWriter.write(m, amplified);
        }
        Model s = ModelReader.read(amplified);
        CalibrationReport slanc = Slanc.calibrate(s, SlancOptions.defaults().withFirstNormUnit(true)); // the paper's rule row
        Path calibrated = dir.resolve(tag + ".slanc.onnx");
        ModelWriter.write(s, calibrated);
        return new FactorModels(c, amplified, calibrated, amplification, slanc);
    }

    /** The diagnostic model: SLaNC with the first norm scaled from the embedding tables (see FirstNormFromEmbedding). */
    Path diagnostic;
    double diagnosticScale = Double.NaN;

    void prepareDiagnostic(Path dir, String name) {
        Model m = ModelReader.read(amplified);
        diagnosticScale = FirstNormFromEmbedding.calibrate(m);
        diagnostic = dir.resolve(name + ".x" + AmplifyReport.format(factor) + ".slanc-embedding.onnx");
        ModelWriter.write(m, diagnostic);
    }

    /** The diagnostic model under the naive-norm emulation, as (d) runs the SLaNC model. */
    OpenedSession openDiagnostic(SessionFactory factory) {
        return Emulation.open(ModelSource.read(diagnostic), Emulation.Mode.FP16_NAIVE_NORMS, factory, true).opened();
    }

    List<NormStats> probeDiagnostic(List<Map<String, TensorData>> inputs, SessionFactory factory) {
        return NormProbe.run(ModelSource.file(diagnostic), NormTaps.of(ModelReader.read(diagnostic)), inputs, factory).norms();
    }

    Path file(Variant v) {
        return v.calibrated() ? calibrated : amplified;
    }

    /** A session running {@code v}: plain ONNX Runtime for FP32, else its emulation (every emulation Cast checked). */
    OpenedSession open(Variant v, SessionFactory factory) {
        Path f = file(v);
        if (v.emulation() == null) {
            return factory.open(ModelSource.file(f));
        }
        Emulation.EmulatedSession es = Emulation.open(ModelSource.read(f), v.emulation(), factory, true);
        return es.opened();
    }

    /** The probe of the FP32 graph {@code v} runs (the calibrated one for SLaNC), computed once per graph. */
    List<NormStats> probe(Variant v, List<Map<String, TensorData>> inputs, SessionFactory factory) {
        return probes.computeIfAbsent(v.calibrated(), cal -> {
            Path f = file(v);
            return NormProbe.run(ModelSource.file(f), NormTaps.of(ModelReader.read(f)), inputs, factory).norms();
        });
    }

    ModelCounts counts(Variant v) {
        // (b) and (c) deploy the same converted model
        Variant key = v == Variant.NAIVE_NORMS ? Variant.FP16_STORAGE : v;
        return counts.computeIfAbsent(key, k -> ModelCounts.deployable(k, file(k)));
    }

    /** Deletes the files this factor wrote (never the base model). */
    void deleteFiles(Path base) {
        for (Path p : new Path[] {amplified, calibrated, diagnostic}) {
            if (p != null && !p.equals(base)) {
                p.toFile().delete();
            }
        }
    }

    static int overflowing(List<NormStats> stats) {
        return (int) stats.stream().filter(NormStats::overflowsFp16).count();
    }

    static List<String> overflowingNames(List<NormStats> stats) {
        return stats.stream().filter(NormStats::overflowsFp16).map(NormStats::normName).toList();
    }

    static double maxAbs(List<NormStats> stats) {
        return stats.stream().mapToDouble(NormStats::maxAbs).max().orElse(Double.NaN);
    }
}
