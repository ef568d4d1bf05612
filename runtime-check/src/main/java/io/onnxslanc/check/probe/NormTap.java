package io.onnxslanc.check.probe;

/**
 * One norm to watch: the tensor that feeds it, its hidden size d (the last dimension) and the SLaNC scale s
 * predicted for it (NaN when there is none). s estimates the L2 norm of one row of that tensor.
 */
public record NormTap(String normName, String inputTensorName, int hiddenSize, double predictedScale) {
    public NormTap {
        if (hiddenSize < 1) throw new IllegalArgumentException("norm '" + normName + "': hidden size must be positive, got " + hiddenSize);
    }
}
