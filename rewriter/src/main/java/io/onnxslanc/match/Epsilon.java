package io.onnxslanc.match;

import io.onnxslanc.ir.Node;

/** Where a norm keeps its epsilon, so the rewrite can replace it by epsilon / s^2. */
public sealed interface Epsilon {
    double value();

    /** A float attribute ("epsilon") of a fused norm node. */
    record InAttribute(Node node, String attribute, double value) implements Epsilon {
    }

    /**
     * A constant operand of the Add in a decomposed norm: input {@code inputIndex} of {@code addNode},
     * an initializer or a Constant node's output. The rewrite gives that Add a new constant and never
     * edits the old one, which other norms may share.
     */
    record InTensor(Node addNode, int inputIndex, double value, int power) implements Epsilon {
        /** Epsilon added to the variance (the usual place): it scales with the square of the input. */
        public InTensor(Node addNode, int inputIndex, double value) {
            this(addNode, inputIndex, value, 2);
        }

        /**
         * How epsilon must scale when the input is divided by s: eps / s^power. 2 when it is added to the variance,
         * 1 when it is added to the standard deviation ({@code (x - mean) / (std + eps)}).
         */
        public int power() {
            return power;
        }
    }

    /** No epsilon found (e.g. a decomposed norm without one): nothing to rescale. */
    record Absent() implements Epsilon {
        @Override
        public double value() {
            return 0;
        }
    }
}
