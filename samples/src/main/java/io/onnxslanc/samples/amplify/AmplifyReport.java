package io.onnxslanc.samples.amplify;

import java.util.List;
import java.util.Locale;

/**
 * What {@link ResidualAmplifier} changed.
 *
 * @param factor       c
 * @param layout       PRE_NORM (Llama, GPT-2) or POST_NORM (BERT); null when nothing was changed (c = 1)
 * @param norms        norms found (each now sees a c times larger input, epsilon times c^2)
 * @param streamInputs values multiplied by c where the residual stream starts (the first norm's input)
 * @param writersUp    weights of the layers writing into the stream (W_o, W_down, W_2), scaled copies times c
 * @param biasesUp     biases of those layers, times c
 * @param gainsUp      post-norm: gains and biases of every norm but the last, times c (the norm output is the stream)
 * @param readers      post-norm: the 1/c compensation of the stream's readers (Mul nodes or weights divided by c)
 * @param epsilons     norms whose epsilon was multiplied by c^2
 * @param warnings     e.g. a factor that is not a power of two
 */
public record AmplifyReport(double factor, Layout layout, int norms, List<String> streamInputs, List<String> writersUp,
                            List<String> biasesUp, List<String> gainsUp, List<String> readers, int epsilons,
                            List<String> warnings) {

    /** Where the norms sit relative to the residual connection. */
    public enum Layout { PRE_NORM, POST_NORM }

    public AmplifyReport {
        streamInputs = List.copyOf(streamInputs);
        writersUp = List.copyOf(writersUp);
        biasesUp = List.copyOf(biasesUp);
        gainsUp = List.copyOf(gainsUp);
        readers = List.copyOf(readers);
        warnings = List.copyOf(warnings);
    }

    static AmplifyReport unchanged(int norms) {
        return new AmplifyReport(1, null, norms, List.of(), List.of(), List.of(), List.of(), List.of(), 0, List.of());
    }

    public boolean changed() {
        return layout != null;
    }

    /** A few lines for a terminal. */
    public String summary() {
        if (!changed()) {
            return "factor 1: model unchanged (" + norms + " norms)\n";
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "residual stream amplified by %s (%s, %d norms)%n", format(factor),
                layout.name().toLowerCase(Locale.ROOT).replace('_', '-'), norms));
        line(sb, "stream input x c", streamInputs);
        line(sb, "writer weights x c", writersUp);
        line(sb, "writer biases x c", biasesUp);
        if (layout == Layout.POST_NORM) {
            line(sb, "norm gains/biases x c", gainsUp);
            line(sb, "reader compensation 1/c", readers);
        }
        sb.append(String.format(Locale.ROOT, "  epsilons x c^2: %d%n", epsilons));
        for (String w : warnings) {
            sb.append("  warning: ").append(w).append('\n');
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String what, List<String> names) {
        sb.append(String.format(Locale.ROOT, "  %s: %d", what, names.size()));
        if (!names.isEmpty()) {
            int shown = Math.min(3, names.size());
            sb.append(" (").append(String.join(", ", names.subList(0, shown))).append(names.size() > shown ? ", ..." : "").append(')');
        }
        sb.append('\n');
    }

    /** 1024 rather than 1024.0; other values as they are. */
    public static String format(double c) {
        return c == Math.rint(c) && Math.abs(c) < 1e15 ? Long.toString((long) c) : Double.toString(c);
    }
}
