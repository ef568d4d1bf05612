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
import java.util.List;
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
        List<NormSite> sites = NormMatcher.findAll(model.graph());
        Set<Node> allNorms = identitySet();
        for (NormSite s : sites) allNorms.addAll(s.nodes());
        Set<Value> fp32 = new HashSet<>();
        // a constant read by norms only stays FP32 even when several norms share it (a merged decoder's branches
        // share every gain): each of them reads it in FP32
        for (NormSite s : sites) fp32.addAll(tensorsInside(s.nodes(), allNorms));
        return fp32;
    }

    private static Set<Node> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /**
     * The tensors that stay FP32 when the nodes named in {@code nodeNames} (in any scope) compute in FP32 behind Casts
     * (the converter's node block list): the same rule as for a norm, over one island made of all of them.
     */
    static Set<Value> ofNodes(Model model, Set<String> nodeNames) {
        if (nodeNames.isEmpty()) return Set.of();
        List<Node> nodes = new java.util.ArrayList<>();
        model.graph().forEachNodeRecursive(n -> {
            if (nodeNames.contains(n.name())) nodes.add(n);
        });
        Set<Node> island = identitySet();
        island.addAll(nodes);
        return tensorsInside(nodes, island);
    }

    /** The outputs used only inside this island, and the constants used only inside {@code constantsIsland}. */
    private static Set<Value> tensorsInside(java.util.Collection<Node> nodes, Set<Node> constantsIsland) {
        Set<Value> fp32 = new HashSet<>();
        Set<Node> island = identitySet();
        island.addAll(nodes);
        for (Node n : nodes) {
            for (Value o : n.outputs())
                if (!o.name().isEmpty() && inside(o, island)) fp32.add(o);
            for (Value in : n.inputs())
                if (in != null && isConstant(in) && inside(in, constantsIsland)) fp32.add(in);
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
