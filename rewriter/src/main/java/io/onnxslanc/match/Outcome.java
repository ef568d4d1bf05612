package io.onnxslanc.match;

/**
 * The result of one match attempt: the norm found, or the step that did not match and what was found there
 * (a value, like {@code calibrate.blocks.Found}), so that an unmatched norm-like candidate can be reported precisely.
 * Every {@link NormPattern} answers with one.
 */
public record Outcome(NormSite site, String reason) {

    public static Outcome of(NormSite site) {
        return new Outcome(site, null);
    }

    public static Outcome fail(String reason) {
        return new Outcome(null, reason);
    }

    public boolean matched() {
        return site != null;
    }
}
