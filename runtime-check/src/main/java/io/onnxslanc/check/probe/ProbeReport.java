package io.onnxslanc.check.probe;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.ToolInfo;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.onnxslanc.check.chart.SvgChart;
import io.onnxslanc.check.ep.RunInfo;

import java.util.List;
import java.util.Locale;

/** Per-norm input statistics as a table, JSON, or a self-contained HTML page with an SVG chart. */
public record ProbeReport(String model, RunInfo run, int samples, List<NormStats> norms) {

    /** Norm of a row whose sum of squares reaches the largest FP16 value: sqrt(65504). */
    public static final double OVERFLOW_NORM = Math.sqrt(NormProbe.FP16_MAX);
    /** Norm of a row whose sum of squares is the smallest normal FP16 value: sqrt(6.1e-5). */
    public static final double UNDERFLOW_NORM = Math.sqrt(NormProbe.FP16_MIN_NORMAL);

    public ProbeReport {
        norms = List.copyOf(norms);
    }

    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("norm probe: ").append(model).append(", ").append(samples).append(" sample(s)\n  ").append(run.summary()).append('\n');
        int w = Math.max(4, norms.stream().mapToInt(n -> n.normName().length()).max().orElse(4));
        String fmt = "%3s %-" + w + "s %6s %7s %10s %10s %10s %9s %10s %10s %10s %8s %s%n";
        sb.append(String.format(Locale.ROOT, fmt, "#", "norm", "d", "rows", "max |x|", "max sumsq", "fp16 sumsq", "log2 room",
                "min/6.1e-5", "mean ||x||", "SLaNC s", "meas/s", "fp16"));
        int i = 0;
        for (NormStats n : norms) {
            sb.append(String.format(Locale.ROOT, fmt, i++, n.normName(), n.hiddenSize(), n.rows(), g(n.maxAbs()), g(n.maxSumSq()),
                    g(n.maxFp16SumSq()), String.format(Locale.ROOT, "%.2f", n.overflowHeadroomLog2()), g(n.underflowHeadroom()),
                    g(n.meanNorm()), g(n.predictedScale()), g(n.measuredOverPredicted()),
                    n.overflowsFp16() ? "OVERFLOW (" + n.fp16OverflowRows() + " rows)" : "ok"));
        }
        return sb.toString();
    }

    public String toJson() {
        try {
            return ToolInfo.stamped("probe", new ObjectMapper().writeValueAsString(this));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the probe report as JSON: " + e.getMessage(), e);
        }
    }

    /** A page without external resources or scripts: the chart and the table. */
    public String toHtml() {
        StringBuilder sb = SvgChart.pageStart("Norm probe: " + model)
                .append("<h1>Norm probe</h1>\n<p>").append(esc(model)).append(" &mdash; ").append(samples).append(" sample(s); ")
                .append(esc(run.summary())).append("</p>\n")
                .append("<p>Measured: mean (dots) and range (bars) over rows of the L2 norm of each norm's input row. ")
                .append("Predicted: the static SLaNC scale s. The sum of squares overflows FP16 above ||x|| = sqrt(65504) = 255.9 ")
                .append("and falls below the smallest normal FP16 value under ||x|| = sqrt(6.1e-5) = 0.0078.</p>\n");
        sb.append(NormChart.svg(norms));
        sb.append("\n<table><tr><th>#</th><th class=\"l\">norm</th><th class=\"l\">input</th><th>d</th><th>rows</th><th>max |x|</th>")
                .append("<th>max sum sq</th><th>min sum sq</th><th>FP16 sum sq</th><th>log2 headroom</th><th>underflow headroom</th>")
                .append("<th>mean ||x||</th><th>max ||x||</th><th>SLaNC s</th><th>measured / s</th><th>FP16</th></tr>\n");
        int i = 0;
        for (NormStats n : norms) {
            sb.append(n.overflowsFp16() ? "<tr class=\"bad\">" : "<tr>").append(td(String.valueOf(i++)))
                    .append("<td class=\"l\">").append(esc(n.normName())).append("</td><td class=\"l\">").append(esc(n.inputTensor())).append("</td>")
                    .append(td(String.valueOf(n.hiddenSize()))).append(td(String.valueOf(n.rows()))).append(td(g(n.maxAbs())))
                    .append(td(g(n.maxSumSq()))).append(td(g(n.minSumSq()))).append(td(g(n.maxFp16SumSq())))
                    .append(td(String.format(Locale.ROOT, "%.2f", n.overflowHeadroomLog2()))).append(td(g(n.underflowHeadroom())))
                    .append(td(g(n.meanNorm()))).append(td(g(n.maxNorm()))).append(td(g(n.predictedScale())))
                    .append(td(g(n.measuredOverPredicted())))
                    .append(td(n.overflowsFp16() ? "overflow (" + n.fp16OverflowRows() + " rows)" : "ok")).append("</tr>\n");
        }
        return sb.append("</table>\n").append(SvgChart.pageEnd()).toString();
    }

    private static String td(String s) {
        return "<td>" + esc(s) + "</td>";
    }

    static String g(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3g", v);
    }

    static String esc(String s) {
        return SvgChart.esc(s);
    }
}
