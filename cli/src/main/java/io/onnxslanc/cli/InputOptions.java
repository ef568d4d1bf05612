package io.onnxslanc.cli;

import io.onnxslanc.check.inputs.InputSpec;
import io.onnxslanc.check.inputs.ModelInputs;
import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * What to feed a model: real tensors from files, lines of real text through a tokenizer, or seeded random inputs
 * shaped by the model's inputs and the user's --input-shape / --dim. The rules live in {@link InputSpec}.
 */
final class InputOptions {
    /** The --inputs value that asks for generated inputs (the default) rather than a folder; ./generated is a folder. */
    static final String GENERATED = "generated";

    @Option(names = "--inputs", paramLabel = "DIR",
            description = "real inputs: input_0.pb, ... (ONNX TensorProto) or NAME.npy files, one sample per sub-folder "
                    + "(as in ONNX's test_data_set_0/), matched to the model's inputs by name or order; "
                    + "'generated' (the default) feeds seeded random inputs shaped by the model")
    Path inputsDir;

    @Option(names = "--text", paramLabel = "FILE",
            description = "feed tokenised lines of this UTF-8 text (needs --tokenizer) instead of seeded random inputs")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json or llama2.c tokenizer for --text")
    Path tokenizer;

    @Option(names = "--input-shape", paramLabel = "NAME=d1,d2,...",
            description = "shape of a generated input, e.g. input_ids=1,128 (repeatable)")
    List<String> inputShapes = new ArrayList<>();

    @Option(names = "--dim", paramLabel = "SYMBOL=VALUE",
            description = "value of a symbolic dimension in the model's inputs, e.g. batch_size=2 (repeatable); by default "
                    + "batch dims are 1 and the others --seq-len")
    Map<String, Long> dims = new LinkedHashMap<>();

    @Option(names = "--samples", defaultValue = "8", description = "number of inputs (lines of --text, or random samples)")
    int samples;

    @Option(names = "--seq-len", defaultValue = "64", description = "sequence length of generated inputs / longest text prefix")
    int seqLen;

    @Option(names = "--past-len", defaultValue = "0", paramLabel = "N",
            description = "KV-cache decoders: past length of the generated past key/values (default 0: empty past)")
    int pastLen;

    @Option(names = "--seed", defaultValue = "42", description = "seed of generated inputs")
    long seed;

    /** True for --inputs generated: seeded inputs asked for by name. */
    boolean generatedAsked() {
        return inputsDir != null && inputsDir.toString().equals(GENERATED);
    }

    /** The folder of real inputs, or null (none given, or --inputs generated). */
    Path realInputs() {
        return generatedAsked() ? null : inputsDir;
    }

    InputSpec spec() {
        if (generatedAsked() && text != null) {
            throw new IllegalArgumentException("give either --text or --inputs generated, not both");
        }
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (String s : inputShapes) {
            Map.Entry<String, long[]> e = InputSpec.parseShape(s);
            if (shapes.put(e.getKey(), e.getValue()) != null) {
                throw new IllegalArgumentException("--input-shape " + e.getKey() + " given twice");
            }
        }
        return InputSpec.defaults().withSeed(seed).withSamples(samples).withSequenceLength(seqLen).withPastLength(pastLen)
                .withShapes(shapes).withDims(dims).withInputsDir(realInputs()).withText(text, tokenizer);
    }

    ModelInputs build(ModelProto model) throws IOException {
        return spec().build(model);
    }
}
