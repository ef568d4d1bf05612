package io.onnxslanc.cli;

import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** What a model contains, in the few lines a user wants to see before and after a rewrite. */
final class ModelSummary {
    private static final Set<String> NORM_LIKE = Set.of("LayerNormalization", "RMSNormalization",
            "SimplifiedLayerNormalization", "com.microsoft:SkipLayerNormalization",
            "com.microsoft:SkipSimplifiedLayerNormalization", "com.microsoft:SimplifiedLayerNormalization",
            "ReduceMean");

    private ModelSummary() {
    }

    static String describe(Model model) {
        StringBuilder sb = new StringBuilder();
        sb.append("IR version ").append(model.irVersion()).append(", opsets ");
        model.opsets().forEach((d, v) -> sb.append(d.isEmpty() ? "ai.onnx" : d).append(' ').append(v).append("  "));
        sb.append('\n');
        long params = 0;
        long inline = 0;
        long external = 0;
        for (Value v : model.graph().initializersRecursive()) {
            params += v.constant().elementCount();
            if (v.constant() instanceof ExternalTensor) {
                external += v.constant().byteSize();
            } else {
                inline += v.constant().byteSize();
            }
        }
        Map<String, Integer> ops = model.graph().opTypeCounts();
        int nodes = ops.values().stream().mapToInt(Integer::intValue).sum();
        sb.append(String.format("%d nodes, %,d parameters, %,d bytes inline, %,d bytes external%n", nodes, params, inline, external));
        sb.append("nodes by op type: ");
        ops.forEach((op, n) -> sb.append(op).append(' ').append(n).append("  "));
        sb.append('\n');
        Map<String, Integer> norms = new TreeMap<>();
        ops.forEach((op, n) -> {
            if (NORM_LIKE.contains(op)) {
                norms.put(op, n);
            }
        });
        sb.append("norm-like nodes: ").append(norms.isEmpty() ? "none" : norms.toString()).append('\n');
        return sb.toString();
    }
}
