package io.onnxslanc.convert;

import io.onnxslanc.ir.Node;
import java.util.Map;
import java.util.Set;

/**
 * What the operator definitions say about float32: which ops only exist for float32, which
 * input or output slots are float32 whatever T is, which attributes name an output type.
 * Sources: the ONNX operator schemas and ONNX Runtime's contrib op schemas.
 */
final class OpRules {
    private OpRules() {
    }

    static final String ML_DOMAIN = "ai.onnx.ml";
    static final String MS_DOMAIN = "com.microsoft";

    /** Default-domain and contrib ops whose float operands are tensor(float) only (no float16 variant). */
    private static final Set<String> FLOAT32_ONLY = Set.of(
            "DynamicQuantizeLinear",      // T1 = tensor(float); y_scale is tensor(float) by definition
            "NonMaxSuppression",          // boxes, scores and thresholds are tensor(float)
            "Range",                      // T has no float16
            "TfIdfVectorizer",            // output T1 = tensor(float)
            "QLinearMatMul", "QLinearConv", "QGemm", "QAttention", "QEmbedLayerNormalization",
            "DynamicQuantizeMatMul", "DynamicQuantizeLSTM", "MatMulIntegerToFloat");

    /**
     * QuantizeLinear / DequantizeLinear take a float16 scale only from opset 19 on: below that they stay float32 and
     * are cast around; from 19 their scales (and so their float operand / output) convert like any other tensor, so a
     * quantized weight stays quantized and its DequantizeLinear feeds the FP16 MatMul directly.
     */
    private static final Set<String> QDQ = Set.of("QuantizeLinear", "DequantizeLinear");

    /** The norm ops the peers keep in float32 (normsFp32). */
    static final Set<String> NORM_OPS = Set.of("SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization",
            "LayerNormalization", "SkipLayerNormalization", "RMSNormalization");

    /** Integer matmuls: their int32 accumulators overflow float16 when cast before the rescale. */
    static final Set<String> INTEGER_MATMULS = Set.of("MatMulInteger", "ConvInteger");

    /** Attributes holding an output element type, per op (the value may be FLOAT). */
    static final Map<String, String> DTYPE_ATTRIBUTE = Map.of(
            "RandomNormal", "dtype", "RandomUniform", "dtype",
            "RandomNormalLike", "dtype", "RandomUniformLike", "dtype",
            "EyeLike", "dtype", "Bernoulli", "dtype",
            "HannWindow", "output_datatype", "HammingWindow", "output_datatype",
            "BlackmanWindow", "output_datatype", "MelWeightMatrix", "output_datatype");

    /** Ops whose dtype attribute defaults to FLOAT when absent (so the converter must set it). */
    static final Set<String> DTYPE_DEFAULTS_TO_FLOAT = Set.of("RandomNormal", "RandomUniform",
            "HannWindow", "HammingWindow", "BlackmanWindow", "MelWeightMatrix");

    /** Whether the op definition only admits float32 for its float operands (at this opset). */
    static boolean float32Only(Node n, long opset) {
        if (n.domain().equals(ML_DOMAIN)) {
            return true; // traditional ML ops: float / double only
        }
        if (!isDefaultOrMs(n)) {
            return false;
        }
        String op = n.opType();
        return FLOAT32_ONLY.contains(op) || QDQ.contains(op) && (opset < 19 || !isDefaultDomain(n)) || op.startsWith("QLinear")
                || (op.equals("CumSum") && opset < 14);
    }

    /**
     * Inputs that stay tensor(float) whatever type the other operands have (ORT's ALWAYS_FLOAT_INPUTS and more).
     * Tensors entering a sequence or an optional stay float32 too: the converter does not rewrite the declared
     * seq(tensor(float)) / optional types, so their elements must keep the type those declarations say.
     */
    static boolean float32Input(Node n, int index, long opset) {
        String op = n.opType();
        if (n.isDefaultDomain()) {
            return switch (op) {
                case "Resize" -> index == (opset <= 10 ? 1 : 2); // scales
                case "Upsample" -> index == 1;                   // scales (opset 9)
                case "SequenceConstruct" -> true;
                case "SequenceInsert" -> index == 1;
                case "SplitToSequence", "Optional" -> index == 0;
                default -> false;
            };
        }
        if (n.domain().equals(MS_DOMAIN)) {
            return (op.equals("GroupNorm") || op.equals("SkipGroupNorm")) && (index == 1 || index == 2); // gamma, beta
        }
        return false;
    }

    /**
     * Outputs typed U = tensor(float) whatever T is: the statistics outputs of the norm ops; and tensors read back
     * from a float32 sequence (see {@link #float32Input}).
     */
    static boolean float32Output(Node n, int index) {
        return switch (n.opType()) {
            case "LayerNormalization", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization" ->
                    index == 1 || index == 2;
            case "SimplifiedLayerNormalization" -> index == 1;
            case "SequenceAt", "ConcatFromSequence" -> isDefaultDomain(n) && index == 0;
            default -> false;
        };
    }

    /** Inputs any element type may feed without changing what the op computes (no cast needed in front). */
    static boolean acceptsAnyType(Node n, int index) {
        if (!isDefaultDomain(n)) {
            return false;
        }
        return switch (n.opType()) {
            case "Cast", "Shape", "Size" -> true;
            case "CastLike" -> index == 0;
            default -> false;
        };
    }

    static boolean isDefaultDomain(Node n) {
        return n.isDefaultDomain();
    }

    private static boolean isDefaultOrMs(Node n) {
        return isDefaultDomain(n) || n.domain().equals(MS_DOMAIN);
    }
}
