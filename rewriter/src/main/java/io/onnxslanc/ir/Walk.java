package io.onnxslanc.ir;

import java.util.Set;

/**
 * The one backward walk: from a value to its producer's data input (input 0), as long as the producer is a
 * default-domain op of a given set. Callers name the ops that do not matter to their question; the sets in
 * common use are here so that their meaning has one home.
 */
public final class Walk {
    /** Ops that keep the values (up to rounding) and only change their type: a float Cast, an Identity. */
    public static final Set<String> CAST_LIKE = Set.of("Cast", "Identity");
    /** Ops that only move or relabel data along input 0. */
    public static final Set<String> LAYOUT = Set.of("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten",
            "Identity", "Cast");
    /** Ops that keep a parameter's values and change only its type or shape (no Transpose: it reorders them). */
    public static final Set<String> SAME_VALUES = Set.of("Cast", "Identity", "Flatten", "Reshape", "Unsqueeze",
            "Squeeze");
    /** Far more hops than any real chain of such ops; stops a walk on a malformed (cyclic) graph. */
    private static final int GUARD = 64;

    private Walk() {
    }

    /** Follows input 0 back through default-domain ops in {@code passThrough}; the first value not so produced. */
    public static Value back(Value v, Set<String> passThrough) {
        return back(v, passThrough, GUARD);
    }

    /** The same, taking at most {@code maxHops} steps. */
    public static Value back(Value v, Set<String> passThrough, int maxHops) {
        Value cur = v;
        for (int hop = 0; cur != null && hop < maxHops; hop++) {
            Node p = cur.producer();
            Value fakeQuantized = passThrough.contains("Cast") ? fakeQuantized(p) : null;
            if (fakeQuantized != null) {
                cur = fakeQuantized;
                continue;
            }
            if (p == null || !p.isOneOf(passThrough) || p.input(0) == null) {
                return cur;
            }
            cur = p.input(0);
        }
        return cur;
    }

    /**
     * The input x of an activation fake-quantization DequantizeLinear(QuantizeLinear(x)) that {@code dq} ends, else
     * null. QDQ models (quantize_static) put such a pair on every quantized activation: like a Cast to a narrower
     * type it keeps x up to rounding, so walks that pass Casts pass the pair too. A DequantizeLinear of a constant
     * (a quantized weight), or a pair on a constant float weight (quantize_static's AddQDQPairToWeight), is not.
     */
    public static Value fakeQuantized(Node dq) {
        if (dq == null || !dq.is("DequantizeLinear") || dq.input(0) == null) {
            return null;
        }
        Node q = dq.input(0).producer();
        if (q == null || !q.is("QuantizeLinear") || q.input(0) == null) {
            return null;
        }
        Value x = q.input(0);
        boolean constant = x.isInitializer() || x.producer() != null && x.producer().is("Constant");
        return constant ? null : x; // a float weight quantized in the graph is a weight, not an activation
    }
}
