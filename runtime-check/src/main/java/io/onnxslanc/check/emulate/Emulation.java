package io.onnxslanc.check.emulate;

import io.onnxslanc.check.ep.OpenedSession;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.IrModels;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.model.OrtTensorType;
import io.onnxslanc.check.model.OrtTypeInference;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import io.onnxslanc.io.TempFiles;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * FP16 emulation on the CPU provider. ORT runs an FP16 model's arithmetic in FP32 on the CPU (it wraps most ops in
 * its own Casts and removes the Cast pairs between them), so an FP16 model there never shows FP16 overflow.
 * These transforms of an FP32 model put explicit FP16 round trips where FP16 hardware would round.
 */
public final class Emulation {
    private Emulation() {}

    public enum Mode {
        /** Every float tensor rounded to FP16 (activations, initializers, inputs); compute stays FP32. */
        FP16_STORAGE("fp16-storage"),
        /** fp16-storage plus norms whose squares and their running sum are held in FP16. */
        FP16_NAIVE_NORMS("fp16-naive-norms"),
        /**
         * fp16-storage except inside the norms, which compute in FP32 between FP16 tensors (the peers' fix; the
         * emulation of Fp16Converter's normsFp32): a norm's intermediates and its own constants are not rounded.
         */
        FP16_FP32_NORMS("fp16-fp32-norms");

        public final String label;

        Mode(String label) {
            this.label = label;
        }

        public static Mode parse(String s) {
            for (Mode m : values()) if (m.label.equals(s.trim().toLowerCase(Locale.ROOT))) return m;
            throw new IllegalArgumentException("unknown emulation mode '" + s + "' (use fp16-storage, fp16-naive-norms or fp16-fp32-norms)");
        }
    }

    /** The emulating model; the input is not modified. It must be the FP32 model. */
    public static ModelProto apply(ModelProto model, Mode mode) {
        return apply(model, mode, Set.of());
    }

    /**
     * As {@link #apply(ModelProto, Mode)}, with the nodes named in {@code fp32Nodes} (in any scope) computing in FP32 as
     * the converter's node block list makes them (e.g. the FP32 fallback's islands): their outputs are not rounded
     * where only such nodes read them, and a norm among them is not made naive.
     */
    public static ModelProto apply(ModelProto model, Mode mode, Set<String> fp32Nodes) {
        requireFp32(model);
        Map<String, OrtTensorType> ortTypes = OrtTypeInference.infer(model);
        Model ir = IrModels.read(model, null);
        Set<Value> fp32 = new HashSet<>(NormIslands.ofNodes(ir, fp32Nodes));
        switch (mode) {
            case FP16_STORAGE -> { }
            case FP16_NAIVE_NORMS -> NaiveNormEmulation.decompose(ir, fp32Nodes, ortTypes);
            case FP16_FP32_NORMS -> fp32.addAll(NormIslands.of(ir));
        }
        Fp16StorageEmulation.apply(ir, EmulationTypes.infer(ir.graph(), ortTypes), fp32);
        return IrModels.toProto(ir);
    }

    private static void requireFp32(ModelProto model) {
        int half = io.onnxslanc.proto.Onnx.TensorProto.DataType.FLOAT16_VALUE;
        for (var in : model.getGraph().getInputList())
            if (in.getType().getTensorType().getElemType() == half)
                throw new IllegalArgumentException("FP16 emulation works on the FP32 model, but input '" + in.getName() + "' is FLOAT16");
        for (var t : model.getGraph().getInitializerList())
            if (t.getDataType() == half)
                throw new IllegalArgumentException("FP16 emulation works on the FP32 model, but initializer '" + t.getName() + "' is FLOAT16");
    }

    /** A session on the emulating model, and the result of the cast-survival check (null when not checked). */
    public record EmulatedSession(OpenedSession opened, ModelSource source, CastSurvival casts) implements AutoCloseable {
        @Override
        public void close() {
            opened.close();
        }
    }

    /**
     * Emulates, opens a session and, when verifyCasts is set, reads back the optimised model ORT saved and fails
     * unless every emulation Cast on a non-constant tensor is still there.
     */
    public static EmulatedSession open(ModelSource source, Mode mode, SessionFactory factory, boolean verifyCasts) {
        return open(source, mode, factory, verifyCasts, Set.of());
    }

    /** As above, with {@code fp32Nodes} computing in FP32 (see {@link #apply(ModelProto, Mode, Set)}). */
    public static EmulatedSession open(ModelSource source, Mode mode, SessionFactory factory, boolean verifyCasts,
                                       Set<String> fp32Nodes) {
        ModelProto original = source.model() != null ? source.model() : ModelSource.read(source.path()).model();
        ModelProto emulated = apply(original, mode, fp32Nodes);
        ModelSource emulatedSource = source.withModel(emulated, mode.label);
        if (!verifyCasts) return new EmulatedSession(factory.open(emulatedSource), emulatedSource, null);
        Path dir = null;
        try {
            dir = Files.createTempDirectory("slanc-emulation");
            Path optimised = dir.resolve("optimised.onnx");
            OpenedSession s = factory.open(emulatedSource, o -> {
                o.setOptimizedModelFilePath(optimised.toString());
                // weights go to a side file so that only the graph is parsed back
                o.addConfigEntry("session.optimized_model_external_initializers_file_name", "optimised.data");
                o.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
            });
            CastSurvival casts = CastSurvival.count(emulated, ModelSource.parse(optimised));
            if (!casts.complete()) {
                s.close();
                throw new IllegalStateException(source.label() + " [" + mode.label + "]: only " + casts.summary()
                        + " at optimisation level " + s.info().optLevel() + "; the emulation would be wrong. Check the session "
                        + "config (optimization.enable_cast_chain_elimination must stay off) or pass the option that skips this check");
            }
            return new EmulatedSession(s, emulatedSource, casts);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the optimised model for the emulation cast check", e);
        } finally {
            if (dir != null) TempFiles.deleteTreeQuietly(dir);
        }
    }
}
