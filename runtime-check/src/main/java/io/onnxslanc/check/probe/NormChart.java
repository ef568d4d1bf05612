package io.onnxslanc.check.probe;

import io.onnxslanc.check.chart.SvgChart;
import java.util.List;
import java.util.Locale;

/** Inline SVG: measured vs predicted input norm per norm (log y axis), with the FP16 limits drawn in. */
final class NormChart {
    private NormChart() {}

    private static final int W = 960, H = 440, LEFT = 70, RIGHT = 190, TOP = 40, BOTTOM = 50;

    static String svg(List<NormStats> norms) {
        double lo = ProbeReport.UNDERFLOW_NORM, hi = ProbeReport.OVERFLOW_NORM;
        for (NormStats n : norms)
            for (double v : new double[]{n.minNorm(), n.maxNorm(), n.predictedScale()})
                if (v > 0 && Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
        double yLo = Math.floor(Math.log10(lo)), yHi = Math.ceil(Math.log10(hi));
        if (yHi == yLo) yHi++;
        Scale s = new Scale(norms.size(), yLo, yHi);

        StringBuilder sb = SvgChart.start(W, H);
        SvgChart.frame(sb, LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        for (int e = (int) yLo; e <= (int) yHi; e++) { // decades
            SvgChart.gridLine(sb, LEFT, W - RIGHT, s.y(Math.pow(10, e)), "1e" + e);
        }
        limit(sb, s, ProbeReport.OVERFLOW_NORM, "#d62728", "FP16 overflow: ||x|| = 255.9");
        limit(sb, s, ProbeReport.UNDERFLOW_NORM, "#9467bd", "FP16 underflow: ||x|| = 0.0078");

        StringBuilder measured = new StringBuilder(), predicted = new StringBuilder(), marks = new StringBuilder();
        for (int i = 0; i < norms.size(); i++) {
            NormStats n = norms.get(i);
            double x = s.x(i);
            String title = "<title>" + ProbeReport.esc(n.normName() + ": mean ||x|| " + ProbeReport.g(n.meanNorm())
                    + ", range " + ProbeReport.g(n.minNorm()) + " .. " + ProbeReport.g(n.maxNorm())
                    + ", SLaNC s " + ProbeReport.g(n.predictedScale())) + "</title>";
            if (n.minNorm() > 0 && n.maxNorm() > 0 && Double.isFinite(n.maxNorm()))
                sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" stroke-width=\"2\" opacity=\"0.5\"/>\n",
                        x, x, s.y(n.minNorm()), s.y(n.maxNorm())));
            if (n.meanNorm() > 0 && Double.isFinite(n.meanNorm())) {
                measured.append(measured.isEmpty() ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", x, s.y(n.meanNorm())));
                marks.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\">%s</circle>\n",
                        x, s.y(n.meanNorm()), n.overflowsFp16() ? "#d62728" : "#1f77b4", title));
            }
            if (n.predictedScale() > 0 && Double.isFinite(n.predictedScale())) {
                predicted.append(predicted.isEmpty() ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", x, s.y(n.predictedScale())));
                marks.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"#ff7f0e\">%s</rect>\n",
                        x - 4, s.y(n.predictedScale()) - 4, title));
            }
            if (norms.size() <= 40 || i % Math.ceil(norms.size() / 40.0) == 0)
                sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x, H - BOTTOM + 16, i));
        }
        if (!measured.isEmpty()) sb.append("<path d=\"").append(measured).append("\" fill=\"none\" stroke=\"#1f77b4\"/>\n");
        if (!predicted.isEmpty()) sb.append("<path d=\"").append(predicted).append("\" fill=\"none\" stroke=\"#ff7f0e\" stroke-dasharray=\"5 3\"/>\n");
        sb.append(marks);

        SvgChart.axisTitles(sb, W, H, LEFT, RIGHT, TOP, BOTTOM, "norm (layer order)", "input norm ||x||_2 (log)");
        int ly = TOP - 16; // legend in one row above the plot
        sb.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#1f77b4\"/><text x=\"%d\" y=\"%d\">measured mean ||x|| (bar: range over rows)</text>\n", LEFT + 6, ly, LEFT + 16, ly + 4));
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"8\" height=\"8\" fill=\"#ff7f0e\"/><text x=\"%d\" y=\"%d\">SLaNC prediction s</text>\n", LEFT + 306, ly - 4, LEFT + 320, ly + 4));
        sb.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#d62728\"/><text x=\"%d\" y=\"%d\">sum of squares overflows in FP16</text>\n", LEFT + 466, ly, LEFT + 476, ly + 4));
        return sb.append("</svg>").toString();
    }

    private static void limit(StringBuilder sb, Scale s, double value, String color, String label) {
        SvgChart.limit(sb, LEFT, W - RIGHT, s.y(value), color, label);
    }

    private record Scale(int n, double yLo, double yHi) {
        double x(int i) {
            return LEFT + (i + 0.5) * (W - LEFT - RIGHT) / Math.max(n, 1);
        }

        double y(double v) {
            return TOP + (yHi - Math.log10(v)) / (yHi - yLo) * (H - TOP - BOTTOM);
        }
    }
}
