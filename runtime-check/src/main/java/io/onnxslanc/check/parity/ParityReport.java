package io.onnxslanc.check.parity;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.ToolInfo;
import io.onnxslanc.check.ep.RunInfo;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The result of {@link Parity#compare}: one row per output, how both sessions ran, printable and as JSON. */
public record ParityReport(String reference, String candidate, RunInfo referenceRun, RunInfo candidateRun,
                           int samples, double relativeErrorFloor, List<OutputParity> outputs) {

    public ParityReport {
        outputs = List.copyOf(outputs);
    }

    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("reference: ").append(reference).append('\n').append("  ").append(referenceRun.summary()).append('\n');
        sb.append("candidate: ").append(candidate).append('\n').append("  ").append(candidateRun.summary()).append('\n');
        sb.append(samples).append(" sample(s); relative error floor ").append(relativeErrorFloor).append('\n');
        String fmt = "%-20s %-16s %10s %10s %10s %10s %11s %11s %8s %10s%n";
        sb.append(String.format(Locale.ROOT, fmt, "output", "shape", "max abs", "mean abs", "max rel", "cosine",
                "ref nan/inf", "cand nan/inf", "top-1", "mean KL"));
        for (OutputParity o : outputs) {
            OutputParity.NextTokenAgreement lm = o.nextToken();
            sb.append(String.format(Locale.ROOT, fmt, o.name(), Arrays.toString(o.shape()).replace(" ", ""), g(o.maxAbsError()),
                    g(o.meanAbsError()), g(o.maxRelError()), String.format(Locale.ROOT, "%.6f", o.cosine()),
                    o.referenceNaN() + "/" + o.referenceInf(), o.candidateNaN() + "/" + o.candidateInf(),
                    lm == null ? "-" : String.format(Locale.ROOT, "%.2f%%", 100 * lm.top1Agreement()),
                    lm == null ? "-" : g(lm.meanKl())));
        }
        return sb.toString();
    }

    public String toJson() {
        try {
            return ToolInfo.stamped("parity", new ObjectMapper().writeValueAsString(this));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the parity report as JSON: " + e.getMessage(), e);
        }
    }

    private static String g(double v) {
        return String.format(Locale.ROOT, "%.3g", v);
    }
}
