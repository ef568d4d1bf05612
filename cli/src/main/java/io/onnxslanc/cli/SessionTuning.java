package io.onnxslanc.cli;

import io.onnxslanc.check.ep.ProviderChoice;
import io.onnxslanc.check.ep.SessionFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * ONNX Runtime session options besides the provider list: shared by {@link RuntimeOptions} (one --ep) and compare
 * (a repeatable --ep, one set of rows each), so both spell and apply them alike.
 */
final class SessionTuning {
    @Option(names = "--opt-level", defaultValue = "basic", paramLabel = "LEVEL",
            description = "ONNX Runtime graph optimisation level: disable, basic (default), extended, all")
    String optLevel;

    @Option(names = "--cuda-option", paramLabel = "KEY=VALUE",
            description = "CUDA provider option, e.g. enable_skip_layer_norm_strict_mode=1 (repeatable)")
    Map<String, String> cudaOptions = new LinkedHashMap<>();

    /** A session factory for the provider list {@code ep}, e.g. "cuda,cpu". */
    SessionFactory factory(String ep) {
        // ONNX Runtime's own log lines would drown the reports: quiet unless --debug (see OrtLogging)
        io.onnxslanc.check.ep.OrtLogging.environment();
        return new SessionFactory(ProviderChoice.parse(ep), SessionFactory.parseOptLevel(optLevel), cudaOptions, Map.of());
    }
}
