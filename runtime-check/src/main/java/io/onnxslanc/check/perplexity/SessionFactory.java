package io.onnxslanc.check.perplexity;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Opens the ONNX Runtime session to evaluate, so that callers choose the execution provider (CPU, CUDA) and the
 * model's origin (a file, or bytes of an in-memory model such as an FP16 emulation).
 */
@FunctionalInterface
public interface SessionFactory {

    OrtSession create(OrtEnvironment env) throws OrtException;

    /** Names the model in messages. */
    default String description() {
        return "model";
    }

    /**
     * CPU execution provider at optimisation level BASIC: constant folding and redundant-node removal only, so that
     * an FP32 model and its FP16 variant are not fused differently (see FIELD-NOTES).
     */
    static OrtSession.SessionOptions defaultOptions() {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
        } catch (OrtException e) {
            options.close();
            throw new IllegalStateException("ONNX Runtime rejected the default session options", e);
        }
        return options;
    }

    /** A model file on the CPU with {@link #defaultOptions()}. */
    static SessionFactory cpu(Path model) {
        return fromFile(model, SessionFactory::defaultOptions);
    }

    /**
     * A model file with options from {@code options}; they are closed once the session exists (options that load
     * custom-op libraries must outlive the session: write your own factory for those).
     */
    static SessionFactory fromFile(Path model, Supplier<OrtSession.SessionOptions> options) {
        return new SessionFactory() {
            @Override
            public OrtSession create(OrtEnvironment env) throws OrtException {
                if (!Files.isRegularFile(model)) {
                    throw new IllegalArgumentException(model + ": model file not found",
                            new NoSuchFileException(model.toString()));
                }
                try (OrtSession.SessionOptions o = options.get()) {
                    return env.createSession(model.toString(), o);
                }
            }

            @Override
            public String description() {
                return model.toString();
            }
        };
    }

    /** A serialized ModelProto held in memory; {@code name} names it in messages. */
    static SessionFactory fromBytes(byte[] model, String name, Supplier<OrtSession.SessionOptions> options) {
        return new SessionFactory() {
            @Override
            public OrtSession create(OrtEnvironment env) throws OrtException {
                try (OrtSession.SessionOptions o = options.get()) {
                    return env.createSession(model, o);
                }
            }

            @Override
            public String description() {
                return name;
            }
        };
    }
}
