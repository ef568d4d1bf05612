/**
 * Finds the norms: one {@link io.onnxslanc.match.NormPattern} per semantic norm form, run by {@link
 * io.onnxslanc.match.NormMatcher}; norm-like subgraphs left unmatched are listed with the reason by {@link
 * io.onnxslanc.match.NormCandidates}.
 *
 * <p>Where this package sits among the stages, and how to extend it: docs/architecture.md in the repository.
 */
package io.onnxslanc.match;
