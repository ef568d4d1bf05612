package io.onnxslanc.check.ep;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/** An ORT session together with how it was made. Closing it closes the session and its options. */
public record OpenedSession(OrtSession session, OrtSession.SessionOptions options, RunInfo info) implements AutoCloseable {
    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the ONNX Runtime session failed: " + e.getMessage(), e);
        } finally {
            options.close();
        }
    }
}
