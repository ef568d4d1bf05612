package io.onnxslanc.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.samples.llama.ImportOptions;
import io.onnxslanc.samples.llama.Llama2cImporter;
import io.onnxslanc.testing.SharedData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SLaNC's Mul sits in front of a decomposed RMSNorm's root, so ONNX Runtime's own SimplifiedLayerNormFusion still
 * turns every chain into one fused node: the optimised graphs of the original and the calibrated stories260K
 * have the same number of fused norms (read from the optimised model ORT saves).
 */
class OrtFusionAfterSlancTest {
    @TempDir
    Path dir;

    private long fusedNorms(Path model, String tag) throws Exception {
        Path optimized = dir.resolve(tag + ".optimized.onnx");
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setOptimizedModelFilePath(optimized.toString());
            try (OrtSession ignored = OrtEnvironment.getEnvironment().createSession(model.toString(), so)) {
                // creating the session writes the optimised graph
            }
        }
        ModelProto p = ModelReader.readProto(optimized);
        java.util.Map<String, Long> ops = new java.util.TreeMap<>();
        p.getGraph().getNodeList().forEach(n -> ops.merge(n.getOpType(), 1L, Long::sum));
        System.out.println(tag + ": " + ops); // for the record in the test log
        return p.getGraph().getNodeList().stream().map(NodeProto::getOpType)
                .filter(op -> op.equals("SimplifiedLayerNormalization") || op.equals("SkipSimplifiedLayerNormalization"))
                .count();
    }

    /** x * Reciprocal(Sqrt(.)) -> Div(x, Sqrt(.)): the form of exporters that write x / sqrt(var + eps). */
    private static void reciprocalToDiv(Model m) {
        io.onnxslanc.ir.Graph g = m.graph();
        for (io.onnxslanc.ir.Node r : new java.util.ArrayList<>(g.nodes())) {
            if (!r.is("Reciprocal")) {
                continue;
            }
            io.onnxslanc.ir.Node mul = r.output(0).consumers().get(0);
            io.onnxslanc.ir.Value x = mul.input(0) == r.output(0) ? mul.input(1) : mul.input(0);
            io.onnxslanc.ir.Node div = g.addNodeBefore(mul, "Div", java.util.List.of(x, r.input(0)), mul.output(0).name() + "_div");
            mul.output(0).replaceAllUsesWith(div.output(0));
        }
        g.cleanup();
        g.toposort();
    }

    @Test
    void ortStillFusesEveryCalibratedNorm() throws Exception {
        Path original = dir.resolve("stories260K.onnx");
        Llama2cImporter.importCheckpoint(SharedData.stories260K(), ImportOptions.defaults(), original, false);
        Model m = ModelReader.read(original);
        reciprocalToDiv(m);
        ModelWriter.write(m, original.resolveSibling("div.onnx"));
        original = original.resolveSibling("div.onnx");
        m = ModelReader.read(original);
        Slanc.calibrate(m, SlancOptions.defaults());
        Path calibrated = dir.resolve("stories260K.slanc.onnx");
        ModelWriter.write(m, calibrated);

        long before = fusedNorms(original, "original");
        long after = fusedNorms(calibrated, "calibrated");
        assertTrue(before >= 11, "ORT fuses the decomposed RMSNorms of the original: " + before);
        assertEquals(before, after, "fused norms after SLaNC");
    }
}
