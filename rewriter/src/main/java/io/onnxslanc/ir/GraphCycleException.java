package io.onnxslanc.ir;

/** Thrown when a graph's nodes cannot be ordered because their edges form a cycle. */
public final class GraphCycleException extends RuntimeException {
    public GraphCycleException(String message) {
        super(message);
    }
}
