package io.onnxslanc.convert;

import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Removes the Casts a conversion leaves without purpose:
 * <ul>
 * <li>a Cast whose input already has the target type (e.g. a patched Cast(to=FLOAT) fed by float16);</li>
 * <li>a pair Cast(T0 -> T1) -> Cast(T1 -> T0) whose middle value has no other use, when the round
 *     trip changes no value (T1 at least as wide as T0) or when both Casts were inserted by the
 *     conversion (a float32 -> float16 -> float32 pair the model never asked for);</li>
 * <li>a chain of two inserted Casts to different types: merged into one.</li>
 * </ul>
 * A pair the model itself contains, float32 -> float16 -> float32, is a deliberate rounding and stays.
 * Casts that produce a graph output stay too.
 */
final class CastCleanup {
    private final Function<Value, DataType> typeOf;
    private final Set<Node> inserted;
    private final Set<Node> removed = Collections.newSetFromMap(new IdentityHashMap<>());

    CastCleanup(Function<Value, DataType> typeOf, Set<Node> inserted) {
        this.typeOf = typeOf;
        this.inserted = inserted;
    }

    /** Returns the number of Cast nodes removed. */
    int run(Graph main) {
        boolean changed = true;
        while (changed) {
            changed = false;
            Set<Value> outputs = Collections.newSetFromMap(new IdentityHashMap<>());
            List<Node> castNodes = new ArrayList<>();
            collect(main, outputs, castNodes);
            for (Node c : castNodes) {
                if (!removed.contains(c) && simplify(c, outputs)) {
                    changed = true;
                }
            }
        }
        return removed.size();
    }

    private static void collect(Graph g, Set<Value> outputs, List<Node> castNodes) {
        outputs.addAll(g.outputs());
        for (Node n : g.nodes()) {
            if (n.is("Cast")) {
                castNodes.add(n);
            }
            for (Graph sub : n.subgraphs()) {
                collect(sub, outputs, castNodes);
            }
        }
    }

    private boolean simplify(Node c, Set<Value> outputs) {
        Value x = c.input(0);
        Value y = c.output(0);
        DataType to = castTarget(c);
        if (x == null || to == null || outputs.contains(y)) {
            return false;
        }
        if (typeOf.apply(x) == to) {
            bypass(c, x);
            return true;
        }
        Node p = x.producer();
        if (p == null || !p.is("Cast") || p.graph() != c.graph() || x.uses().size() != 1 || outputs.contains(x)) {
            return false;
        }
        Value source = p.input(0);
        DataType t0 = typeOf.apply(source);
        DataType t1 = castTarget(p);
        boolean bothInserted = inserted.contains(p) && inserted.contains(c);
        if (t0 != null && t0 == to && (lossless(t0, t1) || bothInserted)) {
            bypass(c, source);
            remove(p);
            return true;
        }
        if (bothInserted) {
            c.setInput(0, source);
            remove(p);
            return true;
        }
        return false;
    }

    private void bypass(Node c, Value replacement) {
        c.output(0).replaceAllUsesWith(replacement);
        remove(c);
    }

    private void remove(Node n) {
        n.graph().removeNode(n);
        removed.add(n);
    }

    private static DataType castTarget(Node c) {
        return c.attribute("to").map(a -> (int) a.intValue()).filter(DataType::isKnownCode)
                .map(DataType::fromCode).orElse(null);
    }

    /** Whether every value of {@code from} survives a trip through {@code via}. */
    static boolean lossless(DataType from, DataType via) {
        if (from == via) {
            return true;
        }
        return switch (from) {
            case FLOAT16, BFLOAT16 -> via == DataType.FLOAT || via == DataType.DOUBLE;
            case FLOAT -> via == DataType.DOUBLE;
            default -> false;
        };
    }
}
