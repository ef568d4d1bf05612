package io.onnxslanc.ir;

import java.util.LinkedHashMap;
import java.util.Map;

/** A model: IR version, operator set imports and the main graph; other ModelProto fields ride along untouched. */
public final class Model {
    private long irVersion;
    private final Map<String, Long> opsets = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Graph graph;
    private byte[] preserved = new byte[0]; // ModelProto without graph and opset_import: producer, metadata, functions, training info

    public Model(long irVersion, Graph graph) {
        this.irVersion = irVersion;
        this.graph = graph;
    }

    public long irVersion() {
        return irVersion;
    }

    public void setIrVersion(long v) {
        this.irVersion = v;
    }

    public Graph graph() {
        return graph;
    }

    /** Operator set versions by domain ("" is the default ONNX domain). */
    public Map<String, Long> opsets() {
        return opsets;
    }

    public long opset(String domain) {
        Long v = opsets.get(domain);
        if (v == null && domain.isEmpty()) {
            v = opsets.get("ai.onnx");
        }
        return v == null ? -1 : v;
    }

    /** metadata_props, in file order (e.g. the marker SLaNC leaves on a calibrated model). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Read and written by {@link ProtoBytes} only: the io package's bridge. */
    byte[] preserved() {
        return preserved;
    }

    void setPreserved(byte[] p) {
        this.preserved = p;
    }
}
