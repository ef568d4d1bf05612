package io.onnxslanc.match;

import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * RMSNorm spelled out in elementary ops, as PyTorch exports Hugging Face's LlamaRMSNorm:
 * <pre>
 *   [Cast to float]
 *   ms = ReduceMean(Pow(x, 2) | Mul(x, x))
 *   n  = x / Sqrt(ms + eps)  |  x * Reciprocal(Sqrt(ms + eps))  |  x * Pow(ms + eps, -0.5)
 *   [Cast back] [Mul gamma] [Cast back]
 * </pre>
 * With the Cast, the Cast is the root and its input the norm's input. Starts at the Cast or the square.
 */
public final class DecomposedRmsNormPattern implements NormPattern {
    private static final long LAST_AXIS = -1;

    @Override
    public NormKind kind() {
        return NormKind.DECOMPOSED_RMS_NORM;
    }

    @Override
    public Set<String> rootOpTypes() {
        return Set.of("Cast", "Pow", "Mul");
    }

    @Override
    public Optional<NormSite> match(Node root) {
        Chain chain = new Chain(root.graph());
        Value input = root.input(0);
        Value x;
        List<Node> squares;
        if (DecomposedSteps.isUpCast(root)) {
            chain.add(root);
            x = root.output(0);
            squares = DecomposedSteps.squaresOf(chain, x);
        } else if (DecomposedSteps.isSquareOf(root, input)) {
            x = input;
            squares = List.of(root);
        } else {
            return Optional.empty();
        }
        for (Node square : squares) {
            for (Node meanSquare : DecomposedSteps.lastAxisMeansOf(chain, square.output(0))) {
                int mark = chain.mark();
                chain.add(square);
                chain.add(meanSquare);
                Optional<DecomposedSteps.Normalized> n = DecomposedSteps.divide(chain, meanSquare.output(0), x);
                if (n.isPresent()) {
                    DecomposedSteps.Tail tail = DecomposedSteps.affineTail(chain, n.get().value(), false, false);
                    Optional<NormSite> site = DecomposedSteps.site(NormKind.DECOMPOSED_RMS_NORM, chain, root, input,
                            n.get(), tail, Set.of(), LAST_AXIS);
                    if (site.isPresent()) {
                        return site;
                    }
                }
                chain.resetTo(mark);
            }
        }
        return Optional.empty();
    }
}
