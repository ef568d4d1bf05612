package io.onnxslanc.cli;

import io.onnxslanc.check.ep.ProviderChoice;
import io.onnxslanc.check.ep.SessionFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Execution-provider options shared by the commands that run ONNX Runtime. */
final class RuntimeOptions {
    @Option(names = "--ep", defaultValue = "cpu", paramLabel = "LIST",
            description = "execution providers in order of preference: cpu (default), cuda, or cuda,cpu (CPU fallback)")
    String ep;

    @Option(names = "--opt-level", defaultValue = "basic", paramLabel = "LEVEL",
            description = "ONNX Runtime graph optimisation level: disable, basic (default), extended, all")
    String optLevel;

    @Option(names = "--cuda-option", paramLabel = "KEY=VALUE",
            description = "CUDA provider option, e.g. enable_skip_layer_norm_strict_mode=1 (repeatable)")
    Map<String, String> cudaOptions = new LinkedHashMap<>();

    SessionFactory factory() {
        // ONNX Runtime's own log lines would drown the reports: quiet unless --debug (see OrtLogging)
        io.onnxslanc.check.ep.OrtLogging.environment();
        return new SessionFactory(ProviderChoice.parse(ep), SessionFactory.parseOptLevel(optLevel), cudaOptions, Map.of());
    }
}
