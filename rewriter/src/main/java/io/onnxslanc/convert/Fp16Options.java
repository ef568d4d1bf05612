package io.onnxslanc.convert;

import io.onnxslanc.ir.DataType;
import java.util.Locale;
import java.util.Set;

/**
 * Options of the float16 conversion, named after onnxconverter-common's where they mean the same.
 *
 * @param target         FLOAT16 or BFLOAT16
 * @param keepAllIoTypes every graph input and output stays float32, with Casts at the boundary
 * @param keepIoNames    these graph inputs / outputs stay float32 (in addition to keepAllIoTypes)
 * @param opBlockList    op types computed in float32 ("OpType" in any domain, or "domain:OpType")
 * @param nodeBlockList  node names computed in float32
 * @param normsFp32      the peers' way around norm overflow: every norm (fused op, or the statistics
 *                       of a decomposed one) computed in float32
 * @param clamp          limits applied to float32 values before rounding to FLOAT16 (not used for BFLOAT16)
 */
public record Fp16Options(DataType target, boolean keepAllIoTypes, Set<String> keepIoNames, Set<String> opBlockList,
                          Set<String> nodeBlockList, boolean normsFp32, Fp16Clamp clamp) {

    public Fp16Options {
        if (target != DataType.FLOAT16 && target != DataType.BFLOAT16) {
            throw new IllegalArgumentException("FP16 conversion target must be float16 or bfloat16, not " + target);
        }
        keepIoNames = Set.copyOf(keepIoNames);
        opBlockList = Set.copyOf(opBlockList);
        nodeBlockList = Set.copyOf(nodeBlockList);
        if (clamp == null) {
            throw new IllegalArgumentException("FP16 conversion needs clamp limits (Fp16Clamp.NONE for none)");
        }
    }

    /** float16, graph I/O converted too, nothing blocked, clamping to the float16 range. */
    public static Fp16Options defaults() {
        return new Fp16Options(DataType.FLOAT16, false, Set.of(), Set.of(), Set.of(), false, Fp16Clamp.DEFAULT);
    }

    /** Parses a target type name: float16 / fp16 / half, or bfloat16 / bf16. */
    public static DataType parseTarget(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "float16", "fp16", "half" -> DataType.FLOAT16;
            case "bfloat16", "bf16" -> DataType.BFLOAT16;
            default -> throw new IllegalArgumentException("unknown target type '" + name
                    + "': use float16 (fp16) or bfloat16 (bf16)");
        };
    }

    public Fp16Options withTarget(DataType t) {
        return new Fp16Options(t, keepAllIoTypes, keepIoNames, opBlockList, nodeBlockList, normsFp32, clamp);
    }

    public Fp16Options withKeepAllIoTypes(boolean keep) {
        return new Fp16Options(target, keep, keepIoNames, opBlockList, nodeBlockList, normsFp32, clamp);
    }

    public Fp16Options withKeepIoNames(Set<String> names) {
        return new Fp16Options(target, keepAllIoTypes, names, opBlockList, nodeBlockList, normsFp32, clamp);
    }

    public Fp16Options withOpBlockList(Set<String> ops) {
        return new Fp16Options(target, keepAllIoTypes, keepIoNames, ops, nodeBlockList, normsFp32, clamp);
    }

    public Fp16Options withNodeBlockList(Set<String> nodes) {
        return new Fp16Options(target, keepAllIoTypes, keepIoNames, opBlockList, nodes, normsFp32, clamp);
    }

    public Fp16Options withNormsFp32(boolean fp32) {
        return new Fp16Options(target, keepAllIoTypes, keepIoNames, opBlockList, nodeBlockList, fp32, clamp);
    }

    public Fp16Options withClamp(Fp16Clamp c) {
        return new Fp16Options(target, keepAllIoTypes, keepIoNames, opBlockList, nodeBlockList, normsFp32, c);
    }

    /** Whether the graph input or output of this name stays float32. */
    public boolean keepsIoType(String name) {
        return keepAllIoTypes || keepIoNames.contains(name);
    }
}
