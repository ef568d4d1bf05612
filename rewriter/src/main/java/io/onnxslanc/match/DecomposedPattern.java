package io.onnxslanc.match;

import io.onnxslanc.canon.CanonicalView;
import io.onnxslanc.ir.Node;
import java.util.Set;

/**
 * What the decomposed patterns share: they start at the normalising Div or Mul and read the norm through
 * {@link DecomposedNorm} on the canonical view; each subclass names only its {@link NormKind}.
 */
abstract class DecomposedPattern implements NormPattern {

    @Override
    public Set<String> rootOpTypes() {
        return Set.of("Div", "Mul");
    }

    @Override
    public Outcome match(Node anchor) {
        return match(anchor, new CanonicalView());
    }

    @Override
    public Outcome match(Node anchor, CanonicalView view) {
        return DecomposedNorm.match(kind(), view, anchor);
    }
}
