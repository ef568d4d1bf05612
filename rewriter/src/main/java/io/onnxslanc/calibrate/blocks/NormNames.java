package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.match.NormSite;

/** How a norm is named in reports, messages and the names of inserted nodes. */
public final class NormNames {
    private NormNames() {
    }

    /** The root node's name; for an unnamed root (some exporters leave nodes unnamed), its output's name. */
    public static String of(NormSite site) {
        return site.name().isEmpty() ? site.output().name() : site.name();
    }
}
