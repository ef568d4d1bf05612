package io.onnxslanc.check.ep;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;

/**
 * ONNX Runtime's native logger writes coloured lines ({@code [E:onnxruntime:, sequential_executor.cc ...]}) straight
 * to the process's stderr, before the tool's own one-line error. By default it is kept quiet: the environment and
 * every session log only FATAL, and ORT's messages reach the user inside the exceptions it throws, which the tools
 * turn into their {@code error:} line. {@link #setVerbose} (the CLI's {@code --debug}) lets warnings through.
 * The environment is a process-wide singleton whose level is fixed when it is first made, so every caller takes it
 * from {@link #environment()}.
 */
public final class OrtLogging {
    private static volatile boolean verbose;

    private OrtLogging() {
    }

    /** True: ORT's warnings and errors are printed by its own logger (--debug). */
    public static void setVerbose(boolean on) {
        verbose = on;
    }

    public static boolean verbose() {
        return verbose;
    }

    public static OrtLoggingLevel level() {
        return verbose ? OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING : OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
    }

    /** The ORT environment, made at the quiet level (or the verbose one) if this is the first use. */
    public static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment(level(), "onnx-slanc");
    }

    /** Sets the session's log severity to the current level (a session's own level overrides the environment's). */
    public static void apply(OrtSession.SessionOptions options) throws OrtException {
        options.setSessionLogLevel(level());
    }
}
