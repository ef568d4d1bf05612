package io.onnxslanc.check.probe;

/**
 * What one norm's input looked like over all rows (one row = the d values a norm reduces over) of all samples.
 *
 * @param maxSumSq          largest exact sum of squares of a row (double)
 * @param minSumSq          smallest exact sum of squares of a row
 * @param maxFp16SumSq      largest sum of squares as an FP16 accumulator holds it (each value, square and partial
 *                          sum rounded to FP16, left to right); infinite once a partial sum passes 65504
 * @param fp16OverflowRows  rows whose FP16 sum of squares is infinite
 * @param overflowHeadroom  65504 / maxSumSq: how many times larger the worst row could be (below 1: it overflows)
 * @param underflowHeadroom minSumSq / 6.1e-5 (the smallest normal FP16 value): below 1, the sum loses precision
 * @param meanNorm          mean over rows of ||row||_2 = sqrt(sum of squares); also the largest and smallest
 * @param measuredOverPredicted meanNorm / predictedScale (NaN without a prediction)
 */
public record NormStats(String normName, String inputTensor, int hiddenSize, long rows, double maxAbs, double maxSumSq,
                        double minSumSq, double maxFp16SumSq, long fp16OverflowRows, double overflowHeadroom,
                        double overflowHeadroomLog2, double underflowHeadroom, double meanNorm, double maxNorm,
                        double minNorm, double predictedScale, double measuredOverPredicted, boolean overflowsFp16) {}
