package io.onnxslanc.check.chart;

import java.util.Locale;

/**
 * The pieces every chart of the tool's HTML reports is drawn with (the probe's norm chart, compare's delta bars):
 * one palette, one frame, one grid style, one page style, so that the reports look alike. Plain SVG and CSS, no
 * scripts and no external resources.
 */
public final class SvgChart {
    public static final String BLUE = "#1f77b4";
    public static final String ORANGE = "#ff7f0e";
    public static final String RED = "#d62728";
    public static final String PURPLE = "#9467bd";
    public static final String GREY = "#999";

    private SvgChart() {
    }

    /** The opening svg tag of a w x h chart. */
    public static StringBuilder start(int w, int h) {
        return new StringBuilder(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h, w, h));
    }

    /** The plot area's background and border. */
    public static void frame(StringBuilder sb, int left, int top, int width, int height) {
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
                left, top, width, height));
    }

    /** A light horizontal grid line across the plot with its value written left of the axis. */
    public static void gridLine(StringBuilder sb, int left, int right, double y, String label) {
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>", left, right, y, y))
                .append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, y + 4, esc(label)));
    }

    /** A dashed coloured line across the plot marking a limit, labelled right of it. */
    public static void limit(StringBuilder sb, int left, int right, double y, String color, String label) {
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"8 4\"/>"
                + "<text x=\"%d\" y=\"%.1f\" fill=\"%s\">%s</text>\n", left, right, y, y, color, right + 6, y + 4, color, esc(label)));
    }

    /** Axis titles: x centred under the plot, y rotated left of it. */
    public static void axisTitles(StringBuilder sb, int w, int h, int left, int right, int top, int bottom, String x, String y) {
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (w - right + left) / 2, h - 12, esc(x)));
        sb.append(String.format(Locale.ROOT, "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                (h - bottom + top) / 2, esc(y)));
    }

    /** The head of a report page, with the shared table style; the caller appends the body and {@link #pageEnd()}. */
    public static StringBuilder pageStart(String title) {
        return new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}")
                .append("td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td.l,th.l{text-align:left}")
                .append("tr.bad td{background:#fde2e2}</style></head><body>\n");
    }

    public static String pageEnd() {
        return "</body></html>\n";
    }

    public static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;").replace("'", "&#39;");
    }
}
