package io.onnxslanc.cli;

import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.inputs.ModelInputs;
import io.onnxslanc.check.model.RunFailedException;
import io.onnxslanc.check.probe.NormProbe;
import io.onnxslanc.check.probe.NormTap;
import io.onnxslanc.check.probe.NormTaps;
import io.onnxslanc.check.probe.ProbeReport;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.WriteTargets;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "probe", mixinStandardHelpOptions = true,
        description = "Measures every norm's input over real data: max |x|, sums of squares (exact and as FP16 would "
                + "store them), headroom to 65504 and to the FP16 normal floor, and the SLaNC prediction next to the "
                + "measured input norm.")
final class ProbeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL")
    Path model;

    @Mixin
    InputOptions inputOptions;

    @Option(names = "--json", paramLabel = "FILE", description = "write the per-norm statistics as JSON")
    Path json;

    @Option(names = "--html", paramLabel = "FILE",
            description = "write a self-contained HTML page charting measured vs predicted input norm per layer")
    Path html;

    @Mixin
    RuntimeOptions runtime;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        io.onnxslanc.ir.Model read = ModelReader.read(model);
        WriteTargets.of(model, read).check(json, "JSON report").check(html, "HTML chart");
        List<NormTap> taps = NormTaps.of(read);
        if (taps.isEmpty()) {
            throw new IllegalArgumentException(model + ": no LayerNorm / RMSNorm found to probe");
        }
        ModelSource source = ModelSource.parsed(model); // graph only: ORT reads the weights from their files
        ModelInputs inputs = inputOptions.build(source.proto());
        ProbeReport report;
        try {
            report = NormProbe.run(source, taps, inputs.feeds(), runtime.factory());
        } catch (RunFailedException e) {
            throw inputs.modelFailed(model.toString(), "the model", e); // the model as given, with its norm inputs exposed
        }
        out.print(report.toTable());
        if (json != null) {
            Reports r = new Reports("probe");
            r.putPojo("probe", report);
            r.write(json);
        }
        if (html != null) {
            Files.writeString(html, report.toHtml());
            out.println("chart " + html);
        }
        return 0;
    }
}
