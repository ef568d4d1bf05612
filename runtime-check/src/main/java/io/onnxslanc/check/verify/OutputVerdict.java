package io.onnxslanc.check.verify;

import java.util.List;

/**
 * One output's figures and the thresholds it missed (empty when it passes).
 *
 * @param top1          NaN for outputs that are not language-model logits
 * @param meanKl        NaN for outputs that are not language-model logits
 * @param nonFinite     candidate elements that are NaN or infinite where the reference is finite
 * @param failures      e.g. "cosine 0.512 < 0.999"
 */
public record OutputVerdict(String name, double cosine, double maxAbs, double maxRel, double top1, double meanKl,
                            long nonFinite, List<String> failures) {
    public OutputVerdict {
        failures = List.copyOf(failures);
    }

    public boolean passed() {
        return failures.isEmpty();
    }
}
