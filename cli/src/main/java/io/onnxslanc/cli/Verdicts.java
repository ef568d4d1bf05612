package io.onnxslanc.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.onnxslanc.check.verify.Verdict;
import java.util.Locale;

/** How the commands print a verdict and put it in their JSON reports. */
final class Verdicts {
    /** Exit code of a command whose verdict failed. */
    static final int EXIT_FAILED = 3;

    private Verdicts() {
    }

    /** The parity table and, for causal LMs, the perplexity over the samples (the verdict line is printed apart). */
    static String describe(Verdict v) {
        StringBuilder sb = new StringBuilder(v.parity().toTable());
        if (v.perplexity() != null) {
            sb.append(String.format(Locale.ROOT, "perplexity over the samples (%d tokens): reference %.4f, candidate %.4f (%+.3f%%)%n",
                    v.perplexity().tokens(), v.perplexity().reference(), v.perplexity().candidate(), v.perplexity().increasePct()));
        }
        return sb.toString();
    }

    /** The verdict without the parity report it was read from (that one has its own section). */
    static ObjectNode json(Verdict v) {
        ObjectNode node = new ObjectMapper().valueToTree(v);
        node.remove("parity");
        return node;
    }
}
