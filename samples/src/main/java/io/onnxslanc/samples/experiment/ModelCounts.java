package io.onnxslanc.samples.experiment;

import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.ir.Model;
import java.nio.file.Path;

/**
 * Nodes and Cast nodes of a variant's deployable model: the FP32 model itself, or what Fp16Converter makes of it
 * (default options; normsFp32 for the peers' way). Subgraph nodes count too; Constant nodes do not (they are folded
 * when a session loads, and SLaNC turns the epsilon Constants it rescales into initializers, which would hide its Muls).
 *
 * @param nodes nodes other than Constant
 * @param casts Cast nodes among them
 */
public record ModelCounts(int nodes, int casts) {

    static ModelCounts of(Model m) {
        int[] n = new int[2];
        m.graph().forEachNodeRecursive(node -> {
            if (!node.is("Constant")) {
                n[0]++;
            }
            if (node.is("Cast")) {
                n[1]++;
            }
        });
        return new ModelCounts(n[0], n[1]);
    }

    /** Reads {@code file}, converts it keeping {@code fp32Nodes} in FP32 (the FP32 fallback's islands), counts. */
    static ModelCounts deployable(Path file, java.util.Set<String> fp32Nodes) {
        Model m = ModelReader.read(file);
        Fp16Converter.convert(m, fp32Nodes.isEmpty() ? Fp16Options.defaults() : Fp16Options.defaults().withNodeBlockList(fp32Nodes));
        return of(m);
    }

    /** Reads {@code file}, converts it as {@code variant} is deployed, counts. */
    static ModelCounts deployable(Variant variant, Path file) {
        Model m = ModelReader.read(file);
        if (variant != Variant.FP32) {
            Fp16Converter.convert(m, Fp16Options.defaults().withNormsFp32(variant == Variant.FP32_NORMS));
        }
        return of(m);
    }
}
