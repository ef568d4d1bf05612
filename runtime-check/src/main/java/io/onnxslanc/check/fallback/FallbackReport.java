package io.onnxslanc.check.fallback;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What {@link Fp32Fallback} decided.
 *
 * @param limit          |x| at or above which a tensor counts as overflowing: 65504 / margin
 * @param maxAbsBefore   the largest |x| of any activation after SLaNC, before any static rescale
 * @param rescale        the power of two the residual stream was multiplied by (1: none)
 * @param rescaleNote    what the static rescale did, or why it was not used
 * @param maxAbsAfter    the largest |x| of any activation of the model as planned
 * @param nodes          the nodes kept in FP32, with the |x| that forced each
 * @param samples        inputs the probe ran on
 */
public record FallbackReport(double limit, double maxAbsBefore, double rescale, String rescaleNote, double maxAbsAfter,
                             List<Fp32Node> nodes, int samples) {
    public FallbackReport {
        nodes = List.copyOf(nodes);
    }

    public Set<String> nodeNames() {
        Set<String> s = new TreeSet<>();
        nodes.forEach(n -> s.add(n.name()));
        return s;
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "fp32 fallback: %d sample(s), limit |x| < %.0f; largest activation after SLaNC %s%n",
                samples, limit, g(maxAbsBefore)));
        sb.append("  static rescale: ").append(rescale == 1 ? "none" : "residual stream x 2^" + Math.getExponent(rescale))
                .append(" (").append(rescaleNote).append(")\n");
        sb.append(String.format(Locale.ROOT, "  largest activation as planned %s; %d node%s kept in FP32%s%n", g(maxAbsAfter), nodes.size(),
                nodes.size() == 1 ? "" : "s", nodes.isEmpty() ? "" : ":"));
        for (Fp32Node n : nodes) {
            sb.append(String.format(Locale.ROOT, "    %-40s %-14s max |x| %10s  %s%n", n.name(), n.opType(), g(n.maxAbs()), n.reason()));
        }
        return sb.toString();
    }

    public String toJson() {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the fallback report as JSON: " + e.getMessage(), e);
        }
    }

    static String g(double v) {
        return Double.isInfinite(v) ? "inf" : String.format(Locale.ROOT, "%.3g", v);
    }
}
