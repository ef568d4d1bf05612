package io.onnxslanc.calibrate;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.onnxslanc.calibrate.blocks.BlockKind;
import io.onnxslanc.calibrate.blocks.NormBlock;
import io.onnxslanc.calibrate.blocks.NormNames;
import io.onnxslanc.calibrate.blocks.QuantizedWeight;
import io.onnxslanc.calibrate.math.ScaleResult;
import io.onnxslanc.ir.GraphScopes;
import io.onnxslanc.match.NormCandidates;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What SLaNC did to a model, per norm, as a fixed-width table ({@link #toTable()}); as JSON through
 * {@link io.onnxslanc.ReportJson#calibration}.
 *
 * @param alreadyCalibrated the model was calibrated before; nothing was changed and {@code norms} is empty
 * @param dryRun            scales were computed but the model was not changed
 * @param norms             one entry per norm, in graph order
 * @param warnings          problems worth a look (epsilon underflow, norms left unscaled, ...)
 * @param candidates        norm-like subgraphs that did not become a norm, each with the reason (never silent)
 */
@JsonPropertyOrder({"already_calibrated", "dry_run", "summary", "norms", "candidates", "warnings"})
public record CalibrationReport(@JsonProperty("already_calibrated") boolean alreadyCalibrated,
                                @JsonProperty("dry_run") boolean dryRun,
                                @JsonProperty("norms") List<Norm> norms,
                                @JsonProperty("warnings") List<String> warnings,
                                @JsonProperty("candidates") List<NormCandidates.Candidate> candidates) {

    public CalibrationReport {
        norms = List.copyOf(norms);
        warnings = List.copyOf(warnings);
        candidates = List.copyOf(candidates);
    }

    public CalibrationReport(boolean alreadyCalibrated, boolean dryRun, List<Norm> norms, List<String> warnings) {
        this(alreadyCalibrated, dryRun, norms, warnings, List.of());
    }

    /** {@code SLaNC: 10 of 12 norms scaled, 2 first norms at s = 1, 0 unscaled[, N norm-like candidates not matched]}. */
    @JsonProperty("summary")
    public String summary() {
        if (alreadyCalibrated) {
            return "SLaNC: already calibrated, nothing changed";
        }
        int firstAtOne = (int) norms.stream().filter(Norm::isFirstAtOne).count();
        int unscaled = (int) norms.stream().filter(n -> n.scale() == null).count();
        int scaled = norms.size() - firstAtOne - unscaled;
        String s = "SLaNC: " + scaled + " of " + norms.size() + " norms " + (dryRun ? "would be " : "") + "scaled, "
                + firstAtOne + " first norm" + (firstAtOne == 1 ? "" : "s") + " at s = 1, " + unscaled + " unscaled";
        return candidates.isEmpty() ? s : s + ", " + candidates.size() + " norm-like candidate"
                + (candidates.size() == 1 ? "" : "s") + " not matched";
    }

    /**
     * What {@code --strict} refuses: unscaled norms other than first norms, plus the norm-like candidates of a model
     * in which no norm was matched at all. 0 when the result is acceptable.
     */
    public int strictViolations() {
        int unscaled = (int) norms.stream().filter(n -> n.scale() == null && (!n.block().equals(BlockKind.FIRST.label())
                || n.reason() != null && n.reason().startsWith("epsilon is"))).count(); // a bad epsilon fails even a first norm
        return unscaled + (norms.isEmpty() ? candidates.size() : 0);
    }

    /**
     * One norm.
     *
     * @param name               node name (the root node of a decomposed norm)
     * @param kind               the norm's form (e.g. "LayerNormalization", "decomposed RMSNorm")
     * @param block              first / attention / gated-mlp / mlp / final / unknown
     * @param frontBlock         the formula used (for "final": the block in front of it), null for first / unknown
     * @param gain               this norm's own gain initializer (for a computed gain such as 1 + w, the initializer
     *                           it is computed from), or null
     * @param output             this norm's output value
     * @param fedBy              the norm whose gain is Gamma_prev / Gamma_post, or null
     * @param gamma              that feeding gain's initializer name, or null (identity); JSON "feeding_gain"
     * @param weights            initializer names the formula read, in formula order
     * @param weightRoles        the same by role ("W_v", "W_o", "W_gate", "W_up", "W_down", "W_1", "W_2"); a packed
     *                           weight of which only some outputs are used reads e.g. "qkv[rows 768..1152]"
     * @param scale              s, the divisor of the norm input; null when unscaled
     * @param scaleUnrounded     s before power-of-two rounding (null when unscaled or first)
     * @param estimated          whether a Frobenius norm was estimated by random probing
     * @param relativeStdError   relative standard error of the unrounded s (0 when exact)
     * @param heads              query heads (attention blocks)
     * @param kvHeads            key/value heads (attention blocks)
     * @param headsSource        how the head counts were found
     * @param reason             why the norm is unscaled, else null
     * @param epsilonBefore      epsilon as found
     * @param epsilonAfter       epsilon as written (epsilon / s^2)
     * @param warnings           problems with this norm
     * @param dequantized        quantized weights the formula read, by name: how they were dequantized (empty when none)
     * @param subgraph           the If branch or Loop / Scan body holding the norm (e.g. {@code If 'optimum::if'
     *                           then_branch}, see {@link io.onnxslanc.ir.GraphScopes#describe}); null in the main graph
     */
    @JsonPropertyOrder({"name", "subgraph", "kind", "gain", "output", "block", "front_block", "fed_by", "feeding_gain", "weights", "weight_roles", "scale", "scale_unrounded",
            "estimated", "relative_std_error", "heads", "kv_heads", "heads_source", "reason", "epsilon_before",
            "epsilon_after", "warnings", "dequantized"})
    public record Norm(@JsonProperty("name") String name,
                       @JsonProperty("kind") String kind,
                       @JsonProperty("gain") String gain,
                       @JsonProperty("output") String output,
                       @JsonProperty("block") String block,
                       @JsonProperty("front_block") String frontBlock,
                       @JsonProperty("fed_by") String fedBy,
                       @JsonProperty("feeding_gain") String gamma,
                       @JsonProperty("weights") List<String> weights,
                       @JsonProperty("weight_roles") Map<String, String> weightRoles,
                       @JsonProperty("scale") Double scale,
                       @JsonProperty("scale_unrounded") Double scaleUnrounded,
                       @JsonProperty("estimated") Boolean estimated,
                       @JsonProperty("relative_std_error") Double relativeStdError,
                       @JsonProperty("heads") Integer heads,
                       @JsonProperty("kv_heads") Integer kvHeads,
                       @JsonProperty("heads_source") String headsSource,
                       @JsonProperty("reason") String reason,
                       @JsonProperty("epsilon_before") double epsilonBefore,
                       @JsonProperty("epsilon_after") double epsilonAfter,
                       @JsonProperty("warnings") List<String> warnings,
                       @JsonProperty("dequantized") @com.fasterxml.jackson.annotation.JsonInclude(
                               com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY) Map<String, String> dequantized,
                       @JsonProperty("subgraph") @com.fasterxml.jackson.annotation.JsonInclude(
                               com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL) String subgraph) {

        public Norm {
            weights = List.copyOf(weights);
            weightRoles = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(weightRoles));
            warnings = List.copyOf(warnings);
            dequantized = dequantized == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(dequantized));
        }

        /** A first norm left at the paper's s = 1. */
        @com.fasterxml.jackson.annotation.JsonIgnore
        public boolean isFirstAtOne() {
            return block.equals(BlockKind.FIRST.label()) && scale != null && scale == 1.0;
        }

        /** The report line of a calibrated (or skipped) norm. */
        public static Norm of(NormCalibration c, double epsilonBefore, double epsilonAfter, boolean applied,
                              List<String> warnings) {
            NormBlock b = c.block();
            List<String> weights = new ArrayList<>();
            Map<String, String> roles = new LinkedHashMap<>();
            Map<String, String> dequantized = new LinkedHashMap<>();
            b.weights().forEach((role, w) -> {
                if (!weights.contains(w.name())) {
                    weights.add(w.name());
                }
                roles.put(role.label(), w.name() + w.describeRows());
                if (w.tensor() instanceof QuantizedWeight q) {
                    dequantized.put(w.name(), q.how());
                }
            });
            ScaleResult r = c.result();
            NormBlock.Heads heads = b.formulaBlock() instanceof NormBlock.WithHeads a ? a.heads() : null;
            boolean attention = heads != null && b.formula().hasAttention(); // PROJECTION: groups, not heads
            String reason = c.reason();
            Double scale = c.scale();
            if (!applied && scale != null && scale != 1.0) {
                reason = warnings.isEmpty() ? "not applied" : warnings.get(0);
                scale = null;
            }
            boolean recognised = b.kind() != BlockKind.FIRST && b.kind() != BlockKind.UNKNOWN;
            return new Norm(NormNames.of(b.site()), b.site().kind().label(), b.site().gainName(),
                    b.site().output().name(), b.kind().label(),
                    recognised ? b.formula().label() : null,
                    b.feedingNorm() == null ? null : NormNames.of(b.feedingNorm()),
                    b.gamma() == null ? null : b.gamma().name(), weights, roles, scale,
                    r == null ? null : r.scale(), r == null ? null : r.estimated(), r == null ? null : r.relativeStdError(),
                    attention ? heads.nHeads() : null, attention ? heads.nKvHeads() : null,
                    heads == null ? null : heads.source(), reason,
                    epsilonBefore, epsilonAfter, warnings, dequantized, GraphScopes.describe(b.site().root().graph()));
        }
    }

    /** The report of a model that was calibrated before (nothing changed). */
    public static CalibrationReport alreadyCalibrated(String marker) {
        return new CalibrationReport(true, false, List.of(), List.of("already calibrated (" + marker + "); nothing changed"),
                List.of());
    }

    /** Norm count per block label, in first / attention / gated-mlp / mlp / final / unknown order. */
    public Map<String, Integer> blockCounts() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (BlockKind k : BlockKind.values()) {
            int n = (int) norms.stream().filter(x -> x.block().equals(k.label())).count();
            if (n > 0) {
                counts.put(k.label(), n);
            }
        }
        return counts;
    }

    /** The entry of the norm with this node name, or null. */
    public Norm norm(String name) {
        return norms.stream().filter(n -> n.name().equals(name)).findFirst().orElse(null);
    }

    /**
     * The entry of the norm with this node name in this subgraph ({@link io.onnxslanc.ir.GraphScopes#describe}; null for the main
     * graph), or null: the branches of a merged decoder hold norms of the same names.
     */
    public Norm norm(String name, String subgraph) {
        return norms.stream().filter(n -> n.name().equals(name) && java.util.Objects.equals(n.subgraph(), subgraph))
                .findFirst().orElse(null);
    }


    /** A fixed-width table for a terminal: one line per norm, then the warnings. */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        if (alreadyCalibrated) {
            sb.append("already calibrated: nothing changed\n");
        }
        int nameWidth = Math.max(4, Math.min(56, norms.stream().mapToInt(n -> n.name().length()).max().orElse(4)));
        int kindWidth = Math.max(4, norms.stream().mapToInt(n -> n.kind().length()).max().orElse(4));
        // a model with norms in If branches / Loop bodies gets a column naming the graph of each norm
        int graphWidth = norms.stream().anyMatch(n -> n.subgraph() != null)
                ? Math.max(10, norms.stream().mapToInt(n -> graphOf(n).length()).max().orElse(10)) : 0;
        String graphColumn = graphWidth == 0 ? "%s" : "%-" + graphWidth + "s  ";
        String format = "%3s  " + graphColumn + "%-" + nameWidth + "s  %-" + kindWidth
                + "s  %-10s  %-10s  %10s  %10s  %10s  %10s  %s%n";
        sb.append(String.format(Locale.ROOT, format, "#", graphWidth == 0 ? "" : "graph", "norm", "kind", "block",
                "formula", "s", "s exact", "eps before", "eps after", "note"));
        int i = 0;
        for (Norm n : norms) {
            String note = n.reason() != null ? n.reason()
                    : n.estimated() != null && n.estimated()
                    ? String.format(Locale.ROOT, "estimated, rel. std. error %.2g", n.relativeStdError())
                    : n.heads() != null ? n.heads() + "/" + n.kvHeads() + " heads" : "";
            sb.append(String.format(Locale.ROOT, format, i++, graphWidth == 0 ? "" : graphOf(n), clip(n.name(), nameWidth),
                    n.kind(), n.block(),
                    n.frontBlock() == null ? "-" : n.frontBlock(), number(n.scale()), number(n.scaleUnrounded()),
                    number(n.epsilonBefore()), number(n.epsilonAfter()), note));
        }
        for (NormCandidates.Candidate c : candidates) {
            sb.append("not matched: ").append(c.op()).append(" '").append(c.node()).append("' (output '").append(c.output())
                    .append(c.subgraph() == null ? "'" : "', in " + c.subgraph()).append("): ").append(c.reason()).append('\n');
        }
        for (String w : warnings) {
            sb.append("warning: ").append(w).append('\n');
        }
        return sb.toString();
    }

    private static String graphOf(Norm n) {
        return n.subgraph() == null ? "main graph" : n.subgraph();
    }

    private static String clip(String s, int width) {
        return s.length() <= width ? s : "..." + s.substring(s.length() - width + 3);
    }

    private static String number(Double d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.4g", d);
    }
}
