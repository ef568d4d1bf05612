package io.onnxslanc.match;

import io.onnxslanc.canon.CanonicalView;
import io.onnxslanc.ir.Node;
import java.util.Set;

/**
 * LayerNorm in elementary ops, in every spelling the canonical view reads as
 * {@code (x - mean(x)) * rsqrt(var + eps) [* gain] [+ bias]} (see {@link DecomposedNorm}; two-pass or one-pass
 * variance; ONNX's own function body with its Flatten / Cast / Reshape). Starts at the normalising Div or Mul.
 */
public final class DecomposedLayerNormPattern implements NormPattern {

    @Override
    public NormKind kind() {
        return NormKind.DECOMPOSED_LAYER_NORM;
    }

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
