package io.onnxslanc.match;

import io.onnxslanc.ir.Domains;
import java.util.Set;

/**
 * ONNX LayerNormalization (opset 17; X, Scale, B; axis, epsilon default 1e-5). ONNX Runtime's older contrib
 * registration under com.microsoft is accepted too.
 */
public final class LayerNormalizationPattern extends FusedNormPattern {
    public LayerNormalizationPattern() {
        super(NormKind.LAYER_NORMALIZATION, "LayerNormalization", Set.of(Domains.ONNX, Domains.MICROSOFT), -1, 1, 2, 1e-5f);
    }
}
