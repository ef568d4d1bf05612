package io.onnxslanc.check.model;

/** ONNX Runtime failed to run a model on a feed; {@link #label()} names the model, {@link #detail()} is ORT's message. */
public final class RunFailedException extends IllegalStateException {
    private final String label;
    private final String detail;

    public RunFailedException(String label, String detail, Throwable cause) {
        super(label + ": ONNX Runtime run failed: " + detail, cause);
        this.label = label;
        this.detail = detail;
    }

    public String label() {
        return label;
    }

    public String detail() {
        return detail;
    }
}
