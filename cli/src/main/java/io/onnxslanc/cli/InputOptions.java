package io.onnxslanc.cli;

import io.onnxslanc.check.model.InputGenerator;
import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** What to feed a model: lines of real text through a tokenizer, or seeded random inputs from its input specs. */
final class InputOptions {
    @Option(names = "--text", paramLabel = "FILE",
            description = "feed tokenised lines of this UTF-8 text (needs --tokenizer) instead of seeded random inputs")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json or llama2.c tokenizer for --text")
    Path tokenizer;

    @Option(names = "--samples", defaultValue = "8", description = "number of inputs (lines of --text, or random samples)")
    int samples;

    @Option(names = "--seq-len", defaultValue = "64", description = "sequence length of generated inputs / longest text prefix")
    int seqLen;

    @Option(names = "--seed", defaultValue = "42", description = "seed of generated inputs")
    long seed;

    List<Map<String, TensorData>> build(ModelProto model) throws IOException {
        if (text == null) {
            return InputGenerator.generate(model, new InputGenerator.Options(seed, 1, seqLen, 0, -1), samples);
        }
        if (tokenizer == null) {
            throw new IllegalArgumentException("--text needs --tokenizer");
        }
        return TextInputs.fromText(model, text, tokenizer, samples, seqLen);
    }
}
