package io.onnxslanc.check.ep;

import java.util.List;

/**
 * How a session was made: ONNX Runtime version, what was asked for, the provider that actually holds the graph
 * (CUDA still hands nodes it has no kernel for to the CPU provider), the optimisation level, and warnings
 * such as a CPU fallback.
 */
public record RunInfo(String ortVersion, String requestedProviders, String provider, String optLevel, List<String> warnings) {
    public RunInfo {
        warnings = List.copyOf(warnings);
    }

    /** One line for reports. */
    public String summary() {
        return "ONNX Runtime " + ortVersion + ", provider " + provider + " (asked: " + requestedProviders + "), opt level "
                + optLevel + (warnings.isEmpty() ? "" : ", warnings: " + String.join("; ", warnings));
    }
}
