package io.onnxslanc.check.probe;

/**
 * One norm to watch: the tensor that feeds it, its hidden size d (the last dimension) and the SLaNC scale s
 * predicted for it (NaN when there is none). s estimates the L2 norm of one row of that tensor. {@code scope} names
 * the If/Loop/Scan body that holds the norm ({@link io.onnxslanc.ir.GraphScopes#describe}; "" for the main graph): the tensor is looked up from
 * there, so the two branches of a merged decoder, which may reuse tensor names, are read apart.
 */
public record NormTap(String normName, String inputTensorName, int hiddenSize, double predictedScale, String scope) {
    public NormTap {
        if (hiddenSize < 1) throw new IllegalArgumentException("norm '" + normName + "': hidden size must be positive, got " + hiddenSize);
        scope = scope == null ? "" : scope;
    }

    /** A norm of the main graph. */
    public NormTap(String normName, String inputTensorName, int hiddenSize, double predictedScale) {
        this(normName, inputTensorName, hiddenSize, predictedScale, "");
    }
}
