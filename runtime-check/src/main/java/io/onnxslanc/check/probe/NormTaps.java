package io.onnxslanc.check.probe;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.ir.GraphScopes;
import io.onnxslanc.ir.Model;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import java.util.ArrayList;
import java.util.List;

/** The taps of a model: every norm the matcher finds, with the SLaNC scale a dry-run calibration predicts for it. */
public final class NormTaps {
    private NormTaps() {
    }

    public static List<NormTap> of(Model model) {
        List<NormSite> sites = NormMatcher.findAll(model.graph());
        CalibrationReport predicted = Slanc.calibrate(model, SlancOptions.defaults().withDryRun(true));
        List<NormTap> taps = new ArrayList<>();
        for (NormSite site : sites) {
            double s = Double.NaN;
            if (!predicted.alreadyCalibrated()) {
                CalibrationReport.Norm n = predicted.norm(site.name(), GraphScopes.describe(site.root().graph()));
                if (n != null && n.scale() != null) {
                    // the unrounded s is the prediction of the input's row norm; the rounded one is what gets applied
                    s = n.scaleUnrounded() != null ? n.scaleUnrounded() : n.scale();
                }
            }
            int d = site.hiddenSize() > 0 ? (int) site.hiddenSize() : 1;
            String described = GraphScopes.describe(site.root().graph()); // as the calibration report names it
            String scope = described == null ? "" : described;
            String label = scope.isEmpty() ? site.name() : site.name() + " [" + scope + "]";
            taps.add(new NormTap(label, site.input().name(), d, s, scope));
        }
        return taps;
    }
}
