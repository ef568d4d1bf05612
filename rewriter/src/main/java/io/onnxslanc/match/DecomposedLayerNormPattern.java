package io.onnxslanc.match;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * LayerNorm spelled out in elementary ops, as exporters write it:
 * <pre>
 *   [Flatten] [Cast to float]                     (ONNX's own function body; then a Reshape back at the end)
 *   m = ReduceMean(x)            d = Sub(x, m)
 *   variance = ReduceMean(Pow(d, 2) | Mul(d, d))                         (two-pass, PyTorch exports)
 *            | Sub(ReduceMean(Pow(x, 2) | Mul(x, x)), Mul(m, m) | Pow(m, 2))  (one-pass, ONNX function body)
 *   n = d / Sqrt(variance + eps)  |  d * Reciprocal(Sqrt(...))  |  d * Pow(..., -0.5)
 *   [Cast] [Mul gamma] [Cast] [Add beta] [Cast] [Reshape]
 * </pre>
 * Starts at the Flatten, the Cast or the mean's ReduceMean, whichever comes first.
 */
public final class DecomposedLayerNormPattern implements NormPattern {
    private static final long LAST_AXIS = -1;

    @Override
    public NormKind kind() {
        return NormKind.DECOMPOSED_LAYER_NORM;
    }

    @Override
    public Set<String> rootOpTypes() {
        return Set.of("ReduceMean", "Cast", "Flatten");
    }

    @Override
    public Optional<NormSite> match(Node root) {
        Chain chain = new Chain(root.graph());
        Value input = root.input(0);
        Value x;
        long flattenAxis = LAST_AXIS;
        boolean flattened = false;
        List<Node> means;
        if (input == null) {
            return Optional.empty();
        }
        if (root.is("ReduceMean")) {
            x = input;
            means = Reductions.reducesLastAxis(root, "ReduceMean") ? List.of(root) : List.of();
        } else if (root.is("Flatten")) {
            chain.add(root);
            flattened = true;
            flattenAxis = root.intAttr("axis", 1);
            x = root.output(0);
            Node cast = chain.soleConsumer(x);
            if (DecomposedSteps.isUpCast(cast)) {
                chain.add(cast);
                x = cast.output(0);
            }
            means = DecomposedSteps.lastAxisMeansOf(chain, x);
        } else if (DecomposedSteps.isUpCast(root)) {
            chain.add(root);
            x = root.output(0);
            means = DecomposedSteps.lastAxisMeansOf(chain, x);
        } else {
            return Optional.empty();
        }
        for (Node mean : means) {
            int mark = chain.mark();
            chain.add(mean);
            Optional<NormSite> site = afterMean(chain, root, input, x, mean.output(0), flattened, flattenAxis);
            if (site.isPresent()) {
                return site;
            }
            chain.resetTo(mark);
        }
        return Optional.empty();
    }

    private static Optional<NormSite> afterMean(Chain chain, Node root, Value input, Value x, Value mean,
                                                boolean flattened, long flattenAxis) {
        for (Node sub : chain.consumers(mean, "Sub")) {
            if (sub.input(0) != x || sub.input(1) != mean) {
                continue;
            }
            int mark = chain.mark();
            chain.add(sub);
            Value deviation = sub.output(0);
            Optional<Value> variance = twoPassVariance(chain, deviation);
            if (variance.isEmpty()) {
                variance = onePassVariance(chain, x, mean);
            }
            if (variance.isPresent()) {
                Optional<DecomposedSteps.Normalized> n = DecomposedSteps.divide(chain, variance.get(), deviation);
                if (n.isPresent()) {
                    DecomposedSteps.Tail tail = DecomposedSteps.affineTail(chain, n.get().value(), true, flattened);
                    Optional<NormSite> site = DecomposedSteps.site(NormKind.DECOMPOSED_LAYER_NORM, chain, root, input,
                            n.get(), tail, Set.of(mean), flattenAxis);
                    if (site.isPresent()) {
                        return site;
                    }
                }
            }
            chain.resetTo(mark);
        }
        return Optional.empty();
    }

    /** ReduceMean(d^2). */
    private static Optional<Value> twoPassVariance(Chain chain, Value deviation) {
        for (Node square : DecomposedSteps.squaresOf(chain, deviation)) {
            for (Node mean : DecomposedSteps.lastAxisMeansOf(chain, square.output(0))) {
                chain.add(square);
                chain.add(mean);
                return Optional.of(mean.output(0));
            }
        }
        return Optional.empty();
    }

    /** ReduceMean(x^2) - m^2. */
    private static Optional<Value> onePassVariance(Chain chain, Value x, Value mean) {
        for (Node squareX : DecomposedSteps.squaresOf(chain, x)) {
            for (Node meanSquare : DecomposedSteps.lastAxisMeansOf(chain, squareX.output(0))) {
                for (Node squareMean : DecomposedSteps.squaresOf(chain, mean)) {
                    for (Node sub : chain.consumers(meanSquare.output(0), "Sub")) {
                        if (sub.input(0) == meanSquare.output(0) && sub.input(1) == squareMean.output(0)) {
                            chain.add(squareX);
                            chain.add(meanSquare);
                            chain.add(squareMean);
                            chain.add(sub);
                            return Optional.of(sub.output(0));
                        }
                    }
                }
            }
        }
        return Optional.empty();
    }
}
