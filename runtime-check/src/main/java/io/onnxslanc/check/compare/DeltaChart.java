package io.onnxslanc.check.compare;

import io.onnxslanc.check.chart.SvgChart;
import java.util.List;
import java.util.Locale;

/**
 * Bars of each row's delta to the reference, on a signed log scale (sign(d) log10(1 + |d|), d in percent) so that
 * -0.03% and +13700% fit one chart; rows that did not run are marked "not run".
 */
final class DeltaChart {
    private DeltaChart() {
    }

    private static final int W = 960, H = 440, LEFT = 70, RIGHT = 190, TOP = 40, BOTTOM = 50;

    static String svg(List<ComparisonRow> rows) {
        double hi = 1;
        for (ComparisonRow r : rows) {
            if (r.ran() && Double.isFinite(r.deltaPct())) {
                hi = Math.max(hi, Math.ceil(Math.log10(1 + Math.abs(r.deltaPct()))));
            }
        }
        double top = hi;
        StringBuilder sb = SvgChart.start(W, H);
        SvgChart.frame(sb, LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        for (int e = 0; e <= (int) top; e++) { // 0, +-1%, +-10%, ... (1 + |d| = 10^e)
            double d = Math.pow(10, e) - 1;
            SvgChart.gridLine(sb, LEFT, W - RIGHT, y(d, top), e == 0 ? "0" : String.format(Locale.ROOT, "+%.0f%%", d));
            if (e > 0) {
                SvgChart.gridLine(sb, LEFT, W - RIGHT, y(-d, top), String.format(Locale.ROOT, "-%.0f%%", d));
            }
        }
        SvgChart.limit(sb, LEFT, W - RIGHT, y(0, top), SvgChart.GREY, "reference");
        double slot = (W - LEFT - RIGHT) / (double) Math.max(rows.size(), 1);
        for (int i = 0; i < rows.size(); i++) {
            ComparisonRow r = rows.get(i);
            double x = LEFT + (i + 0.5) * slot;
            String title = "<title>" + SvgChart.esc(r.model() + " | " + r.providersAsked() + " | " + r.emulation() + ": "
                    + (r.ran() ? ComparisonResult.delta(r.deltaPct()) : r.status())) + "</title>";
            if (!r.ran() || !Double.isFinite(r.deltaPct())) {
                sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%s%s</text>\n",
                        x, y(0, top) - 6, SvgChart.RED, r.ran() ? "NaN" : "not run", title));
            } else {
                double y0 = y(0, top);
                double y1 = y(r.deltaPct(), top);
                String color = r.status().equals("reference") ? SvgChart.GREY : Math.abs(r.deltaPct()) <= 1 ? SvgChart.BLUE : SvgChart.RED;
                sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">%s</rect>\n",
                        x - slot * 0.3, Math.min(y0, y1), slot * 0.6, Math.max(1, Math.abs(y1 - y0)), color, title));
            }
            sb.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x, H - BOTTOM + 16, i));
        }
        SvgChart.axisTitles(sb, W, H, LEFT, RIGHT, TOP, BOTTOM, "row (model x provider x emulation, as in the table)",
                "delta to the reference (signed log)");
        int ly = TOP - 16;
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"8\" height=\"8\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">|delta| &lt;= 1%%</text>\n",
                LEFT + 2, ly - 4, SvgChart.BLUE, LEFT + 14, ly + 4));
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"8\" height=\"8\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">|delta| &gt; 1%%</text>\n",
                LEFT + 122, ly - 4, SvgChart.RED, LEFT + 134, ly + 4));
        return sb.append("</svg>").toString();
    }

    private static double y(double deltaPct, double top) {
        double v = Math.signum(deltaPct) * Math.log10(1 + Math.abs(deltaPct));
        return TOP + (top - v) / (2 * top) * (H - TOP - BOTTOM);
    }
}
