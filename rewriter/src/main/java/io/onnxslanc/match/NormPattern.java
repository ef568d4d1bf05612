package io.onnxslanc.match;

import io.onnxslanc.ir.Node;
import java.util.Optional;
import java.util.Set;

/**
 * One form of norm: a pattern and its conditions. Implementations are stateless: everything a
 * match finds goes into the immutable {@link NormSite} it returns, so one instance serves every
 * graph and thread.
 */
public interface NormPattern {

    /** The form this pattern recognises. */
    NormKind kind();

    /** Op types a match of this pattern can start at; the matcher calls {@link #match} only for those. */
    Set<String> rootOpTypes();

    /** The norm that starts at {@code candidateRoot}, or empty. Never modifies the graph. */
    Optional<NormSite> match(Node candidateRoot);
}
