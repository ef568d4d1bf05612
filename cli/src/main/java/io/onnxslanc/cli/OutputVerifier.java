package io.onnxslanc.cli;

import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.inputs.ModelInputs;
import io.onnxslanc.check.model.RunFailedException;
import io.onnxslanc.check.parity.Parity;
import io.onnxslanc.check.verify.Gates;
import io.onnxslanc.check.verify.Verdict;
import io.onnxslanc.check.verify.Verification;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The main command's --verify: OUT run as written against IN (it loads, its outputs agree), and, with an emulation,
 * the FP32 graph OUT was converted from run under that FP16 emulation against IN, with the nodes OUT keeps in FP32
 * left unrounded (the CPU provider computes FP16 in FP32 and would hide every overflow).
 */
final class OutputVerifier {
    /** The verdicts, the plain run first; passed when every one passed. */
    record Outcome(List<Verdict> verdicts) {
        boolean passed() {
            return verdicts.stream().allMatch(Verdict::passed);
        }

        /** The failing verdict's line (the emulated one first), else the last one's. */
        String line() {
            for (int i = verdicts.size() - 1; i >= 0; i--) {
                if (!verdicts.get(i).passed()) {
                    return verdicts.get(i).line();
                }
            }
            return verdicts.get(verdicts.size() - 1).line();
        }
    }

    private OutputVerifier() {
    }

    /**
     * @param fp32Graph the FP32 graph OUT was converted from (null: OUT itself is FP32), for the emulation
     * @param fp32Nodes nodes OUT keeps in FP32 (block lists, fallback islands)
     */
    static Outcome verify(Path in, Path out, String outLabel, Path fp32Graph, Set<String> fp32Nodes, Emulation.Mode emulation,
                          Gates gates, InputOptions inputOptions, SessionFactory factory) throws java.io.IOException {
        ModelSource reference = ModelSource.parsed(in);
        ModelProto refGraph = reference.proto();
        ModelInputs inputs = inputOptions.build(refGraph);
        Verification.Options options = Verification.Options.defaults().withGates(gates)
                .withParity(new Parity.Options(InputGenerator.vocabSize(refGraph), Parity.Options.defaults().relativeErrorFloor()));
        List<Verdict> verdicts = new ArrayList<>();
        try {
            verdicts.add(Verification.verify(reference, new ModelSource(outLabel, out, null, null), inputs.feeds(), factory, options));
            if (emulation != null) {
                ModelSource read = ModelSource.read(fp32Graph != null ? fp32Graph : out);
                ModelSource graph = new ModelSource(outLabel + (fp32Graph != null ? " (its FP32 graph)" : ""), null, read.model(), null);
                verdicts.add(Verification.verify(reference, graph, inputs.feeds(), factory,
                        options.withEmulation(emulation).withKeepFp32(fp32Nodes)));
            }
        } catch (RunFailedException e) {
            // IN failing on these inputs says nothing about OUT: say what was fed and how to change it
            throw e.label().equals(reference.label()) ? inputs.referenceFailed(reference.label(), e) : e;
        }
        return new Outcome(verdicts);
    }
}
