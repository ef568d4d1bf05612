package io.onnxslanc.check.parity;

/**
 * Candidate against reference for one output, over all samples. Errors are taken over elements that are finite
 * in both; the NaN/Inf counts say how many were not. Relative error divides by max(|ref|, relativeErrorFloor).
 */
public record OutputParity(String name, long[] shape, long elements, double maxAbsError, double meanAbsError,
                           double maxRelError, double cosine, long referenceNaN, long referenceInf, long candidateNaN,
                           long candidateInf, NextTokenAgreement nextToken) {

    /**
     * For language-model logits: share of positions whose arg-max token agrees, and the mean KL(ref || cand) of the
     * softmax distributions in double (+Infinity when a candidate row is not finite).
     */
    public record NextTokenAgreement(long positions, double top1Agreement, double meanKl, long nonFiniteRows) {}
}
