package io.onnxslanc.cli;

import io.onnxslanc.io.ExternalTensor;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import java.util.Map;
import java.util.TreeMap;

/** What a model contains, in the few lines a user wants to see before and after a rewrite. */
final class ModelSummary {
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
        for (NormSite site : NormMatcher.findAll(model.graph())) {
            norms.merge(site.kind().label(), 1, Integer::sum);
        }
        sb.append("norms: ").append(norms.isEmpty() ? "none found" : norms.toString()).append('\n');
        return sb.toString();
    }
}
