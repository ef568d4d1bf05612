package io.onnxslanc.check.compare;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.onnxslanc.check.chart.SvgChart;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The rows of a {@link Comparison} as one table, JSON, or an HTML page with a bar chart of the deltas.
 *
 * @param kind     "perplexity" or "parity"
 * @param protocol how the value and the delta were measured
 */
public record ComparisonResult(String kind, String ortVersion, String optLevel, String protocol, List<ComparisonRow> rows) {
    public ComparisonResult {
        rows = List.copyOf(rows);
    }

    public String toTable() {
        List<List<String>> cells = new ArrayList<>();
        cells.add(List.of("#", "model", "providers", "used", "emulation", kind.equals("perplexity") ? "ppl" : "cosine",
                "delta", kind.equals("perplexity") ? "tokens" : "samples", "ms/window", "ORT", "status"));
        for (int i = 0; i < rows.size(); i++) {
            ComparisonRow r = rows.get(i);
            cells.add(List.of(Integer.toString(i), r.model(), r.providersAsked(), r.providerUsed() == null ? "-" : r.providerUsed(),
                    r.emulation(), r.ran() ? value(r.value()) : "-", r.ran() ? delta(r.deltaPct()) : "-",
                    r.ran() ? Long.toString(r.tokens()) : "-", r.ran() ? String.format(Locale.ROOT, "%.1f", r.msPerWindow()) : "-",
                    r.ortVersion(), r.status() + (r.warnings().isEmpty() ? "" : " (" + String.join("; ", r.warnings()) + ")")));
        }
        int[] width = new int[cells.get(0).size()];
        for (List<String> row : cells) {
            for (int i = 0; i < width.length - 1; i++) {
                width[i] = Math.max(width[i], row.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append("compare: ").append(kind).append(", ONNX Runtime ").append(ortVersion).append(", optimisation level ")
                .append(optLevel).append('\n').append(protocol).append('\n');
        for (List<String> row : cells) {
            for (int i = 0; i < row.size(); i++) {
                boolean left = i == 1 || i == 2 || i == 3 || i == 4 || i == row.size() - 1;
                String c = row.get(i);
                String pad = i == row.size() - 1 ? "" : " ".repeat(width[i] - c.length());
                sb.append(i == 0 ? "" : "  ").append(left ? c + pad : pad + c);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    public String toJson() {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the comparison as JSON: " + e.getMessage(), e);
        }
    }

    /** A page without scripts or external resources: the delta chart, then the table. */
    public String toHtml() {
        StringBuilder sb = SvgChart.pageStart("onnx-slanc compare");
        sb.append("<h1>Comparison: ").append(SvgChart.esc(kind)).append("</h1>\n<p>ONNX Runtime ").append(SvgChart.esc(ortVersion))
                .append(", optimisation level ").append(SvgChart.esc(optLevel)).append(". ").append(SvgChart.esc(protocol)).append("</p>\n");
        sb.append(DeltaChart.svg(rows)).append('\n');
        sb.append("<table><tr><th>#</th><th class=\"l\">model</th><th class=\"l\">providers</th><th class=\"l\">used</th>")
                .append("<th class=\"l\">emulation</th><th>").append(kind.equals("perplexity") ? "ppl" : "cosine")
                .append("</th><th>delta</th><th>").append(kind.equals("perplexity") ? "tokens" : "samples")
                .append("</th><th>ms/window</th><th>ORT</th><th class=\"l\">status</th></tr>\n");
        for (int i = 0; i < rows.size(); i++) {
            ComparisonRow r = rows.get(i);
            boolean bad = !r.ran() || !Double.isFinite(r.value());
            sb.append(bad ? "<tr class=\"bad\">" : "<tr>").append(td(Integer.toString(i))).append(tdl(r.model()))
                    .append(tdl(r.providersAsked())).append(tdl(r.providerUsed() == null ? "-" : r.providerUsed())).append(tdl(r.emulation()))
                    .append(td(r.ran() ? value(r.value()) : "-")).append(td(r.ran() ? delta(r.deltaPct()) : "-"))
                    .append(td(r.ran() ? Long.toString(r.tokens()) : "-"))
                    .append(td(r.ran() ? String.format(Locale.ROOT, "%.1f", r.msPerWindow()) : "-")).append(td(r.ortVersion()))
                    .append(tdl(r.status() + (r.warnings().isEmpty() ? "" : " (" + String.join("; ", r.warnings()) + ")"))).append("</tr>\n");
        }
        return sb.append("</table>\n").append(SvgChart.pageEnd()).toString();
    }

    private static String td(String s) {
        return "<td>" + SvgChart.esc(s) + "</td>";
    }

    private static String tdl(String s) {
        return "<td class=\"l\">" + SvgChart.esc(s) + "</td>";
    }

    private String value(double v) {
        if (!Double.isFinite(v)) {
            return Double.isNaN(v) ? "NaN" : "inf";
        }
        return kind.equals("perplexity") ? (v < 1e4 ? String.format(Locale.ROOT, "%.4f", v) : String.format(Locale.ROOT, "%.3e", v))
                : String.format(Locale.ROOT, "%.6f", v);
    }

    static String delta(double pct) {
        if (!Double.isFinite(pct)) {
            return Double.isNaN(pct) ? "NaN" : "inf";
        }
        return Math.abs(pct) < 1e4 ? String.format(Locale.ROOT, "%+.3f%%", pct) : String.format(Locale.ROOT, "%+.3g%%", pct);
    }
}
