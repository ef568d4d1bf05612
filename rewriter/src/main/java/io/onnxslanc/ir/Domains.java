package io.onnxslanc.ir;

/**
 * ONNX operator domains. The default ONNX domain may be written "" or "ai.onnx"; a node's domain is normalised
 * once, when the node is built ({@link Node#domain()} is then "" for both), so no other code tests both spellings.
 */
public final class Domains {
    /** The default ONNX domain as the IR holds it. */
    public static final String ONNX = "";
    /** The alias some exporters write for the default domain. */
    public static final String ONNX_ALIAS = "ai.onnx";
    /** ONNX Runtime's contrib operators. */
    public static final String MICROSOFT = "com.microsoft";

    private Domains() {
    }

    /** "" for the default domain in either spelling (and for null), the domain itself otherwise. */
    public static String normalise(String domain) {
        return domain == null || domain.equals(ONNX_ALIAS) ? ONNX : domain;
    }
}
