package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.AttributeProto;
import io.onnxslanc.proto.Onnx.GraphProto;
import io.onnxslanc.proto.Onnx.ModelProto;
import io.onnxslanc.proto.Onnx.NodeProto;
import io.onnxslanc.proto.Onnx.TensorProto;
import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;

/**
 * The merged-decoder layout of Optimum's decoder_model_merged.onnx: the inputs of the decoder with
 * past plus a bool use_cache_branch [1]; one If whose then-branch is the decoder with past and whose
 * else-branch is the decoder without past (which still returns present.*: the keys and values of
 * its own tokens). Both branches are built from the same weights, so every initializer is the same
 * tensor in both: it is stored once, in the outer graph, and the branches read it from there (a
 * branch has no inputs and no initializers of its own). Branch nodes keep their names; the If's
 * outputs take the branch outputs' names, as in Optimum's merge.
 */
final class MergedDecoderBuilder {

    static final String USE_CACHE_BRANCH = "use_cache_branch";
    static final String IF_NODE = "optimum::if";

    private MergedDecoderBuilder() {}

    static ModelProto build(LlamaWeights weights, ImportOptions opts, InitializerStore store,
                            String docString, Map<String, String> metadata) throws IOException {
        SharedInitializers shared = new SharedInitializers(store);
        ImportOptions withPastOpts = opts.withPastKeyValues(true);
        GraphProto withPast = LlamaGraphBuilder.decoderGraph(weights, withPastOpts, shared, false);
        GraphProto noPast = LlamaGraphBuilder.decoderGraph(weights, opts.withPastKeyValues(false), shared, true);
        if (!names(withPast.getOutputList()).equals(names(noPast.getOutputList()))) {
            throw new IllegalStateException("the decoders with and without past return different outputs (an If's branches must match position by position)");
        }
        GraphProto.Builder outer = GraphProto.newBuilder().setName("merged_decoder")
                .addAllInput(withPast.getInputList())
                .addInput(GraphBuilder.valueInfo(USE_CACHE_BRANCH, TensorProto.DataType.BOOL_VALUE, 1L))
                .addAllOutput(withPast.getOutputList())
                .addAllInitializer(shared.all());
        NodeProto.Builder ifNode = NodeProto.newBuilder().setName(IF_NODE).setOpType("If").addInput(USE_CACHE_BRANCH)
                .addAttribute(graphAttr("then_branch", branch(withPast, "decoder_with_past")))
                .addAttribute(graphAttr("else_branch", branch(noPast, "decoder_without_past")));
        withPast.getOutputList().forEach(o -> ifNode.addOutput(o.getName()));
        outer.addNode(ifNode);

        Map<String, String> description = new LinkedHashMap<>(LlamaGraphBuilder.describe(weights.config(), withPastOpts));
        description.put("llama.merged_decoder", "true");
        return LlamaGraphBuilder.model(outer.build(), opts, description, docString, metadata);
    }

    /** The graph as an If branch: no inputs (it reads the outer graph's), no initializers (shared outside). */
    private static GraphProto branch(GraphProto decoder, String name) {
        return decoder.toBuilder().setName(name).clearInput().clearInitializer().build();
    }

    private static AttributeProto graphAttr(String name, GraphProto g) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH).setG(g).build();
    }

    private static List<String> names(List<ValueInfoProto> values) {
        return values.stream().map(ValueInfoProto::getName).toList();
    }
}
