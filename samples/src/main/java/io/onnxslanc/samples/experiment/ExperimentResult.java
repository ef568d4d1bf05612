package io.onnxslanc.samples.experiment;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.ToolInfo;
import io.onnxslanc.samples.amplify.AmplifyReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The experiment's numbers: one row per amplification factor and variant, for stories260K (perplexity) and MiniLM
 * (cosine of mean-pooled embeddings), with the protocol that produced them.
 *
 * @param runtime  ONNX Runtime version, provider and optimisation level
 * @param protocol how every column was measured
 * @param stories  stories260K rows
 * @param miniLm   MiniLM rows (empty when skipped)
 * @param diagnostics extra runs made where SLaNC left norms overflowing
 * @param notes    observations worth reading next to the table (which norms overflow where)
 */
public record ExperimentResult(String runtime, List<String> protocol, List<LmRow> stories, List<EncoderRow> miniLm,
                               List<Diagnostic> diagnostics, List<String> notes) {

    public ExperimentResult {
        protocol = List.copyOf(protocol);
        stories = List.copyOf(stories);
        miniLm = List.copyOf(miniLm);
        diagnostics = List.copyOf(diagnostics);
        notes = List.copyOf(notes);
    }

    /**
     * Run where (d) still had overflowing norms: SLaNC with the first norm's scale from the embedding tables instead of
     * the paper's s = 1, under the same naive-norm emulation. Not one of the paper's variants; it tests whether the
     * first norm is the whole cause.
     *
     * @param model            "stories260K" or "MiniLM"
     * @param firstScale       the first norm's scale used
     * @param value            perplexity (stories260K) or smallest cosine (MiniLM)
     * @param relativeChange   stories260K: against FP32 at the same c; MiniLM: NaN
     * @param overflowingNorms probe of the diagnostic graph
     */
    public record Diagnostic(String model, double factor, double firstScale, double value, double relativeChange,
                             int overflowingNorms, int norms) {
    }

    /**
     * One stories260K variant at one factor.
     *
     * @param relativeChange   (ppl - ppl of FP32 at the same c) / that, NaN for the FP32 row
     * @param overflowingNorms norms whose input has a row with an infinite FP16 sum of squares (probe)
     * @param overflowing      their names
     * @param maxAbs           largest |x| entering any norm (probe): above 255.9 a single square overflows FP16
     */
    public record LmRow(double factor, Variant variant, double perplexity, double relativeChange, long tokensScored,
                        int windows, int overflowingNorms, int norms, List<String> overflowing, double maxAbs,
                        int nodes, int casts) {
    }

    /**
     * One MiniLM variant at one factor.
     *
     * @param minCosine  smallest cosine, over the sentences, between its mean-pooled embedding and the FP32 original's
     * @param meanCosine mean of those cosines
     */
    public record EncoderRow(double factor, Variant variant, double minCosine, double meanCosine, int overflowingNorms,
                             int norms, List<String> overflowing, double maxAbs, int nodes, int casts) {
    }

    /** The tables and the protocol as plain text. */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("SLaNC experiment: residual stream amplified by c, FP16 emulated on the CPU\n");
        sb.append(runtime).append("\n\n");
        if (!stories.isEmpty()) { // MiniLM alone when stories260K's data is not at hand
            sb.append(storiesTitle()).append('\n');
            sb.append(textTable(storiesHeader(), storiesCells())).append('\n');
        }
        if (!miniLm.isEmpty()) {
            sb.append(miniLmTitle()).append('\n');
            sb.append(textTable(miniLmHeader(), miniLmCells()));
        }
        sb.append("\nProtocol\n");
        for (String p : protocol) {
            sb.append("- ").append(p).append('\n');
        }
        if (!notes.isEmpty()) {
            sb.append("\nNotes\n");
            for (String n : notes) {
                sb.append("- ").append(n).append('\n');
            }
        }
        return sb.toString();
    }

    /** The MiniLM table alone, with its title (the demo's stress test when stories260K is not at hand). */
    public String miniLmText() {
        return miniLmTitle() + "\n" + textTable(miniLmHeader(), miniLmCells());
    }

    /** The same as GitHub-flavoured Markdown. */
    public String toMarkdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("### SLaNC experiment: residual stream amplified by c, FP16 emulated on the CPU\n\n");
        sb.append(runtime).append("\n\n");
        sb.append("**").append(storiesTitle()).append("**\n\n");
        sb.append(markdownTable(storiesHeader(), storiesCells()));
        if (!miniLm.isEmpty()) {
            sb.append("\n**").append(miniLmTitle()).append("**\n\n");
            sb.append(markdownTable(miniLmHeader(), miniLmCells()));
        }
        sb.append("\nProtocol:\n\n");
        for (String p : protocol) {
            sb.append("- ").append(p).append('\n');
        }
        if (!notes.isEmpty()) {
            sb.append("\nNotes:\n\n");
            for (String n : notes) {
                sb.append("- ").append(n).append('\n');
            }
        }
        return sb.toString();
    }

    public String toJson() {
        try {
            return ToolInfo.stamped("experiment", new ObjectMapper().writeValueAsString(this)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the experiment as JSON", e);
        }
    }

    /** The row of {@code variant} at {@code factor}, or null. */
    public LmRow story(double factor, Variant variant) {
        return stories.stream().filter(r -> r.factor() == factor && r.variant() == variant).findFirst().orElse(null);
    }

    public EncoderRow encoder(double factor, Variant variant) {
        return miniLm.stream().filter(r -> r.factor() == factor && r.variant() == variant).findFirst().orElse(null);
    }

    private String storiesTitle() {
        return "stories260K (Llama, pre-norm, " + stories.get(0).norms() + " decomposed RMSNorms): perplexity, "
                + stories.get(0).tokensScored() + " tokens scored";
    }

    private String miniLmTitle() {
        return "all-MiniLM-L6-v2 (BERT, post-norm, " + miniLm.get(0).norms() + " decomposed LayerNorms): cosine of "
                + "mean-pooled embeddings to the FP32 model's";
    }

    private static List<String> storiesHeader() {
        return List.of("c", "variant", "ppl", "vs FP32", "overflowing norms", "max |x| into a norm", "nodes", "Casts");
    }

    private List<List<String>> storiesCells() {
        List<List<String>> rows = new ArrayList<>();
        for (LmRow r : stories) {
            rows.add(List.of(AmplifyReport.format(r.factor()), r.variant().label(), ppl(r.perplexity()),
                    r.variant() == Variant.FP32 ? "-" : percent(r.relativeChange()),
                    r.overflowingNorms() + " / " + r.norms(), number(r.maxAbs()), Integer.toString(r.nodes()),
                    Integer.toString(r.casts())));
        }
        return rows;
    }

    private static List<String> miniLmHeader() {
        return List.of("c", "variant", "min cos", "mean cos", "overflowing norms", "max |x| into a norm", "nodes", "Casts");
    }

    private List<List<String>> miniLmCells() {
        List<List<String>> rows = new ArrayList<>();
        for (EncoderRow r : miniLm) {
            rows.add(List.of(AmplifyReport.format(r.factor()), r.variant().label(), cosine(r.minCosine()),
                    cosine(r.meanCosine()), r.overflowingNorms() + " / " + r.norms(), number(r.maxAbs()),
                    Integer.toString(r.nodes()), Integer.toString(r.casts())));
        }
        return rows;
    }

    static String ppl(double p) {
        if (Double.isNaN(p)) {
            return "NaN";
        }
        if (Double.isInfinite(p)) {
            return "inf";
        }
        return p < 1e4 ? String.format(Locale.ROOT, "%.4f", p) : String.format(Locale.ROOT, "%.3e", p);
    }

    static String percent(double rel) {
        if (Double.isNaN(rel)) {
            return "NaN";
        }
        if (Double.isInfinite(rel)) {
            return "inf";
        }
        return Math.abs(rel) < 1e2 ? String.format(Locale.ROOT, "%+.2f%%", 100 * rel) : String.format(Locale.ROOT, "%+.3g%%", 100 * rel);
    }

    static String cosine(double c) {
        return Double.isNaN(c) ? "NaN" : String.format(Locale.ROOT, "%.6f", c);
    }

    static String number(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        return v < 1e5 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.3g", v);
    }

    private static String textTable(List<String> header, List<List<String>> rows) {
        int[] width = new int[header.size()];
        for (int i = 0; i < width.length; i++) {
            width[i] = header.get(i).length();
            for (List<String> r : rows) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        appendRow(sb, header, width);
        double previous = Double.NaN;
        for (List<String> r : rows) {
            if (!Double.isNaN(previous) && !r.get(0).equals(AmplifyReport.format(previous))) {
                sb.append('\n');
            }
            previous = Double.parseDouble(r.get(0));
            appendRow(sb, r, width);
        }
        return sb.toString();
    }

    private static void appendRow(StringBuilder sb, List<String> cells, int[] width) {
        for (int i = 0; i < cells.size(); i++) {
            boolean left = i == 1; // the variant name
            String cell = cells.get(i);
            String pad = " ".repeat(width[i] - cell.length());
            sb.append(i == 0 ? "  " : "  ").append(left ? cell + pad : pad + cell);
        }
        sb.append('\n');
    }

    private static String markdownTable(List<String> header, List<List<String>> rows) {
        StringBuilder sb = new StringBuilder("| ").append(String.join(" | ", header)).append(" |\n|");
        for (int i = 0; i < header.size(); i++) {
            sb.append(i == 1 ? "---|" : "---:|");
        }
        sb.append('\n');
        for (List<String> r : rows) {
            sb.append("| ").append(String.join(" | ", r).replace("|x|", "\\|x\\|")).append(" |\n");
        }
        return sb.toString().replace("| max |x| into a norm |", "| max \\|x\\| into a norm |");
    }
}
