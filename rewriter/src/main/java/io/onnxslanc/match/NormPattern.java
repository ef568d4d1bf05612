package io.onnxslanc.match;

import io.onnxslanc.canon.CanonicalView;
import io.onnxslanc.ir.Node;
import java.util.Set;

/**
 * One form of norm: a pattern and its conditions. Implementations are stateless: everything a
 * match finds goes into the immutable {@link NormSite} it returns, so one instance serves every
 * graph and thread. A failed match is a value too ({@link Outcome} with the reason), which
 * {@link NormCandidates} reports for norm-like nodes left unmatched.
 */
public interface NormPattern {

    /** The form this pattern recognises. */
    NormKind kind();

    /** Op types a match of this pattern can start at; the matcher calls {@link #match} only for those. */
    Set<String> rootOpTypes();

    /**
     * The norm that starts at {@code candidateRoot}, or the reason it is none (the step that did not match and what
     * was found there). Never modifies the graph.
     */
    Outcome match(Node candidateRoot);

    /**
     * The same, reading the graph through {@code view}, which the matcher shares across one pass so that no value is
     * canonicalised twice. Patterns that read canonical terms override this.
     */
    default Outcome match(Node candidateRoot, CanonicalView view) {
        return match(candidateRoot);
    }
}
