package io.onnxslanc.samples.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.check.emulate.Emulation;
import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import io.onnxslanc.check.perplexity.Perplexity;
import io.onnxslanc.check.perplexity.PerplexityOptions;
import io.onnxslanc.check.perplexity.WindowProtocol;
import io.onnxslanc.check.tokenize.Llama2cTokenizer;
import io.onnxslanc.check.tokenize.Utf8Text;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.Model;
import io.onnxslanc.samples.DataDir;
import io.onnxslanc.samples.amplify.ResidualAmplifier;
import io.onnxslanc.samples.llama.ImportOptions;
import io.onnxslanc.samples.llama.Llama2cImporter;
import io.onnxslanc.samples.quantize.QuantFormat;
import io.onnxslanc.samples.quantize.WeightQuantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The break-and-repair of the experiment on int4 stories260K as on the FP32 one (issue 11): amplified by c = 64
 * (the writers' int4 scales times 64, exact), the model keeps its FP32 perplexity; with the norms' statistics rounded
 * to FP16 ({@code --emulate fp16-naive-norms}) it breaks (perplexity more than doubles); after SLaNC the same
 * emulation is within 0.5% of FP32 again. First 128 positions of tinystories-val.
 */
class AmplifiedInt4StoriesTest {
    private static final Path DIR = Path.of("target", "integration", "stories260k-amplified-int4");
    private static final int POSITIONS = 128;

    private static double perplexity(Path model, boolean naiveFp16Norms) throws Exception {
        int[] tokens;
        try (Llama2cTokenizer tok = Llama2cTokenizer.load(io.onnxslanc.testing.SharedData.tok512())) {
            tokens = tok.encode(Utf8Text.read(io.onnxslanc.testing.SharedData.tinyStoriesVal()));
        }
        PerplexityOptions o = PerplexityOptions.defaults().withMaxTokens(POSITIONS - 1);
        WindowProtocol w = WindowProtocol.nonOverlapping(POSITIONS - 1);
        if (!naiveFp16Norms) {
            try (Perplexity p = Perplexity.open(ModelSource.file(model), SessionFactory.cpu())) {
                return p.evaluate(tokens, OptionalInt.of(Llama2cTokenizer.BOS), w, o).perplexity();
            }
        }
        Emulation.EmulatedSession s = Emulation.open(ModelSource.file(model), Emulation.Mode.FP16_NAIVE_NORMS,
                SessionFactory.cpu(), true);
        try (Perplexity p = Perplexity.of(s.opened(), model + " [fp16-naive-norms]")) { // closes the session
            return p.evaluate(tokens, OptionalInt.of(Llama2cTokenizer.BOS), w, o).perplexity();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"FP32", "NBITS4_ZP", "DQ_INT4_BLOCKED"})
    void amplifiedModelBreaksInNaiveFp16NormsAndSlancRepairsIt(String format) throws Exception {
        Files.createDirectories(DIR);
        Path base = DIR.resolve("stories260K." + format + ".onnx");
        Llama2cImporter.write(Llama2cImporter.importCheckpoint(io.onnxslanc.testing.SharedData.stories260K(), ImportOptions.defaults()), base);
        Model m = ModelReader.read(base);
        if (!format.equals("FP32")) {
            WeightQuantizer.quantize(m, QuantFormat.valueOf(format), false);
            ModelWriter.write(m, base);
            m = ModelReader.read(base);
        }
        ResidualAmplifier.amplify(m, 64);
        Path amplified = DIR.resolve("stories260K." + format + ".x64.onnx");
        ModelWriter.write(m, amplified);
        CalibrationReport r = Slanc.calibrate(m, SlancOptions.defaults());
        assertEquals(11, r.norms().stream().filter(n -> n.scale() != null && n.scale() != 1.0).count()); // the first from the embedding
        Path calibrated = DIR.resolve("stories260K." + format + ".x64.slanc.onnx");
        ModelWriter.write(m, calibrated);

        double fp32 = perplexity(base, false);
        double amp = perplexity(amplified, false);
        double naive = perplexity(amplified, true);
        double repaired = perplexity(calibrated, true);
        System.out.printf("stories260K %s, %d positions: FP32 %.5f, x64 %.5f, x64 + naive FP16 norms %.5f, "
                + "x64 + SLaNC + naive FP16 norms %.5f (%+.3f%%)%n", format, POSITIONS, fp32, amp, naive, repaired,
                100 * (repaired / fp32 - 1));
        assertEquals(fp32, amp, 1e-6 * fp32, "amplification keeps the FP32 function");
        assertTrue(naive > 2 * fp32, "naive FP16 norms break the amplified model: " + naive);
        assertTrue(Math.abs(repaired / fp32 - 1) <= 0.005, "SLaNC repairs it: " + repaired + " vs " + fp32);
    }
}
