package io.onnxslanc.cli;

import io.onnxslanc.check.ep.SessionFactory;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Execution-provider options shared by the commands that run ONNX Runtime. */
final class RuntimeOptions {
    @Option(names = "--ep", defaultValue = "cpu", paramLabel = "LIST",
            description = "execution providers in order of preference: cpu (default), cuda, or cuda,cpu (CPU fallback)")
    String ep;

    @Mixin
    SessionTuning tuning;

    SessionFactory factory() {
        return tuning.factory(ep);
    }
}
