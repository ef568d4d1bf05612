package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.IrModels;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import io.onnxslanc.proto.Onnx.ModelProto;

import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * The tensors that stay FP32 when every norm computes in FP32 between FP16 tensors, the peers' fix and what
 * Fp16Converter's normsFp32 option builds: each norm the matcher recognises (the same nodes the converter keeps
 * in FP32) is an island; its intermediates and the constants only it reads are not rounded, while its input
 * (an FP16 tensor cast up exactly) and its output (cast down at the boundary) are.
 */
final class NormIslands {
    private NormIslands() {}

    /** The names of the island tensors (for tests; names may repeat across subgraph scopes). */
    static Set<String> of(ModelProto model) {
        Set<String> names = new HashSet<>();
        for (Value v : of(IrModels.read(model, null))) names.add(v.name());
        return names;
    }

    /** The island values of every norm, in the main graph and in If/Loop/Scan bodies. */
    static Set<Value> of(Model model) {
        Set<Value> fp32 = new HashSet<>();
        for (NormSite s : NormMatcher.findAll(model.graph())) fp32.addAll(tensorsInside(s.nodes()));
        return fp32;
    }

    /**
     * The tensors that stay FP32 when the main-graph nodes named in {@code nodeNames} compute in FP32 behind Casts
     * (the converter's node block list): the same rule as for a norm, over one island made of all of them.
     */
    static Set<Value> ofNodes(Model model, Set<String> nodeNames) {
        if (nodeNames.isEmpty()) return Set.of();
        return tensorsInside(model.graph().nodes().stream().filter(n -> nodeNames.contains(n.name())).toList());
    }

    private static Set<Value> tensorsInside(java.util.Collection<Node> nodes) {
        Set<Value> fp32 = new HashSet<>();
        Set<Node> island = Collections.newSetFromMap(new IdentityHashMap<>());
        island.addAll(nodes);
        for (Node n : nodes) {
            for (Value o : n.outputs())
                if (!o.name().isEmpty() && inside(o, island)) fp32.add(o);
            for (Value in : n.inputs())
                if (in != null && isConstant(in) && inside(in, island)) fp32.add(in);
        }
        return fp32;
    }

    /** Used by island nodes only, and no graph output. */
    private static boolean inside(Value v, Set<Node> island) {
        return !v.isGraphOutput() && !v.uses().isEmpty() && v.uses().stream().allMatch(u -> island.contains(u.node()));
    }

    private static boolean isConstant(Value v) {
        return v.isInitializer() || (v.producer() != null && v.producer().is("Constant"));
    }
}
