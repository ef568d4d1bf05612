package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Converts a llama2.c checkpoint into an ONNX model (input_ids -> logits). */
public final class Llama2cImporter {

    private Llama2cImporter() {}

    /** The model with inline weights (checkpoints below 2 GiB). */
    public static ModelProto importCheckpoint(Path checkpoint, ImportOptions opts) throws IOException {
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(checkpoint)) {
            return LlamaGraphBuilder.build(ckpt, opts, new InlineInitializers(), docString(ckpt), origin(ckpt));
        }
    }

    /** Imports and writes to out; with externalData the weights are streamed into out + ".data". */
    public static void importCheckpoint(Path checkpoint, ImportOptions opts, Path out, boolean externalData) throws IOException {
        if (!externalData) {
            write(importCheckpoint(checkpoint, opts), out);
            return;
        }
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(checkpoint)) {
            ModelFiles.writeWithExternalData(out,
                    store -> LlamaGraphBuilder.build(ckpt, opts, store, docString(ckpt), origin(ckpt)));
        }
    }

    /**
     * The merged decoder (Optimum's decoder_model_merged.onnx layout, see {@link MergedDecoderBuilder}):
     * inputs of the decoder with past plus use_cache_branch, one If over the decoders with and without
     * past, weights shared in the outer graph. opts' pastKeyValues is ignored (both decoders are built).
     */
    public static ModelProto importMergedDecoder(Path checkpoint, ImportOptions opts) throws IOException {
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(checkpoint)) {
            return MergedDecoderBuilder.build(ckpt, opts, new InlineInitializers(), mergedDocString(ckpt), origin(ckpt));
        }
    }

    /** The merged decoder written to out; with externalData the (shared) weights go to out + ".data" once. */
    public static void importMergedDecoder(Path checkpoint, ImportOptions opts, Path out, boolean externalData) throws IOException {
        if (!externalData) {
            write(importMergedDecoder(checkpoint, opts), out);
            return;
        }
        try (Llama2cCheckpoint ckpt = Llama2cCheckpoint.open(checkpoint)) {
            ModelFiles.writeWithExternalData(out,
                    store -> MergedDecoderBuilder.build(ckpt, opts, store, mergedDocString(ckpt), origin(ckpt)));
        }
    }

    /** Writes a model (below 2 GiB) atomically: temporary file, then rename. */
    public static void write(ModelProto model, Path out) throws IOException {
        ModelFiles.writeAtomically(model, out);
    }

    private static String docString(Llama2cCheckpoint ckpt) {
        return "Llama decoder imported from the llama2.c checkpoint " + ckpt.file().getFileName()
                + ". Linear weights are stored as MatMul operands W^T [in, out].";
    }

    private static String mergedDocString(Llama2cCheckpoint ckpt) {
        return docString(ckpt) + " Merged decoder: If on use_cache_branch, then-branch with past key/values,"
                + " else-branch without; the weights are outer-graph initializers read by both branches.";
    }

    private static Map<String, String> origin(Llama2cCheckpoint ckpt) {
        return Map.of("source", "llama2.c checkpoint " + ckpt.file().getFileName());
    }

    /** Usage: Llama2cImporter CHECKPOINT OUT.onnx [decomposed|decomposed_cast|fused] [--past | --merged] [--external-data] [--eps=1e-5] */
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: Llama2cImporter CHECKPOINT OUT.onnx [decomposed|decomposed_cast|fused] [--past | --merged] [--external-data] [--eps=VALUE]");
            System.exit(2);
        }
        ImportOptions opts = ImportOptions.defaults();
        boolean external = false, merged = false;
        for (int i = 2; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--past")) opts = opts.withPastKeyValues(true);
            else if (a.equals("--merged")) merged = true;
            else if (a.equals("--external-data")) external = true;
            else if (a.startsWith("--eps=")) opts = opts.withEpsilon(Float.parseFloat(a.substring(6)));
            else opts = opts.withNormStyle(NormStyle.parse(a));
        }
        if (merged) importMergedDecoder(Path.of(args[0]), opts, Path.of(args[1]), external);
        else importCheckpoint(Path.of(args[0]), opts, Path.of(args[1]), external);
    }
}
