package io.onnxslanc.match;

import io.onnxslanc.ir.Domains;
import java.util.Set;

/**
 * ONNX Runtime's SimplifiedLayerNormalization (an RMSNorm; X, scale; epsilon default 1e-5). ORT registers it
 * in the default domain; com.microsoft is accepted in case a tool wrote it there.
 */
public final class SimplifiedLayerNormalizationPattern extends FusedNormPattern {
    public SimplifiedLayerNormalizationPattern() {
        super(NormKind.SIMPLIFIED_LAYER_NORMALIZATION, "SimplifiedLayerNormalization", Set.of(Domains.ONNX, Domains.MICROSOFT), -1, 1, -1, 1e-5f);
    }
}
