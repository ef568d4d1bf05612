package io.onnxslanc.match;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Commutativity in one place: "one operand of this binary node is X, the other is Y, in either order".
 * Patterns say what the operands are; this tries both orders (first order first, so the result is
 * deterministic when both would fit).
 */
public final class Operands {

    /**
     * The two operands of a binary node, named by role.
     *
     * @param first       the operand that satisfied the first predicate
     * @param firstIndex  its input index (0 or 1)
     * @param second      the other operand
     * @param secondIndex its input index
     */
    public record Pair(Value first, int firstIndex, Value second, int secondIndex) {
    }

    private Operands() {
    }

    /** Splits a two-input node into (X, Y) in whichever order satisfies both predicates. */
    public static Optional<Pair> either(Node binary, Predicate<Value> isFirst, Predicate<Value> isSecond) {
        if (binary == null || binary.inputs().size() != 2) {
            return Optional.empty();
        }
        Value a = binary.input(0);
        Value b = binary.input(1);
        if (a == null || b == null) {
            return Optional.empty();
        }
        if (isFirst.test(a) && isSecond.test(b)) {
            return Optional.of(new Pair(a, 0, b, 1));
        }
        if (isFirst.test(b) && isSecond.test(a)) {
            return Optional.of(new Pair(b, 1, a, 0));
        }
        return Optional.empty();
    }

    /** Shorthand: one operand is exactly {@code known}, the other satisfies {@code isOther}. */
    public static Optional<Pair> withOperand(Node binary, Value known, Predicate<Value> isOther) {
        return either(binary, v -> v == known, isOther);
    }
}
