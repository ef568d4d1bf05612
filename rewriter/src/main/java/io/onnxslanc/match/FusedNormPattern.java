package io.onnxslanc.match;

import io.onnxslanc.ir.Domains;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What the fused norm ops have in common: one node, input 0 normalised, epsilon a float attribute,
 * the gain (and bias) as inputs at fixed positions. Each form is a small subclass naming those.
 */
abstract class FusedNormPattern implements NormPattern {
    static final Set<String> DEFAULT_DOMAINS = Set.of(Domains.ONNX);
    static final Set<String> MICROSOFT = Set.of(Domains.MICROSOFT);
    /** The reason for a fused op in a domain no pattern reads (op type, domain). */
    static final String NO_PATTERN_FOR_DOMAIN = "a %s in domain '%s', which has no pattern (known: LayerNormalization and "
            + "SimplifiedLayerNormalization in '' or com.microsoft, RMSNormalization in '', Skip* in com.microsoft)";

    private final NormKind kind;
    private final String opType;
    private final Set<String> domains;
    private final int skipIndex;
    private final int gammaIndex;
    private final int betaIndex;
    private final float defaultEpsilon;

    /**
     * @param skipIndex  input index of the skip operand, or -1
     * @param betaIndex  input index of the bias, or -1 when the op has none
     */
    FusedNormPattern(NormKind kind, String opType, Set<String> domains, int skipIndex, int gammaIndex, int betaIndex,
                     float defaultEpsilon) {
        this.kind = kind;
        this.opType = opType;
        this.domains = domains;
        this.skipIndex = skipIndex;
        this.gammaIndex = gammaIndex;
        this.betaIndex = betaIndex;
        this.defaultEpsilon = defaultEpsilon;
    }

    @Override
    public final NormKind kind() {
        return kind;
    }

    @Override
    public final Set<String> rootOpTypes() {
        return Set.of(opType);
    }

    @Override
    public final Outcome match(Node node) {
        if (!node.opType().equals(opType)) {
            return Outcome.fail("'" + node.name() + "' is a " + node.opType() + ", not a " + opType);
        }
        if (!domains.contains(node.domain())) {
            return Outcome.fail(NO_PATTERN_FOR_DOMAIN.formatted(opType, node.domain()));
        }
        Value input = node.input(0);
        Value skip = skipIndex >= 0 ? node.input(skipIndex) : null;
        Value output = node.output(0);
        if (input == null || output == null) {
            return Outcome.fail("its input or output is missing");
        }
        if (skipIndex >= 0 && skip == null) {
            return Outcome.fail("its skip input (input " + skipIndex + ") is missing");
        }
        Value gamma = parameter(node.input(gammaIndex));
        Value beta = betaIndex >= 0 ? parameter(node.input(betaIndex)) : null;

        List<Value.Use> entry = new ArrayList<>(usesAt(input, node, 0));
        if (skip != null) {
            entry.addAll(usesAt(skip, node, skipIndex));
        }
        long hidden = Constants.normalizedSize(gamma, input, node.intAttr("axis", -1));
        Epsilon eps = new Epsilon.InAttribute(node, "epsilon", node.floatAttr("epsilon", defaultEpsilon));
        return Outcome.of(new NormSite(kind, node, input, skip, entry, gamma, beta, eps, hidden, List.of(node),
                output, sideOutputs(node)));
    }

    /** The gain or bias as the site reports it: its constant source when there is one, else the operand itself. */
    private static Value parameter(Value operand) {
        if (operand == null) {
            return null;
        }
        Value source = Constants.parameterSource(operand);
        return source != null ? source : operand;
    }

    private static List<Value.Use> usesAt(Value v, Node node, int index) {
        return v.uses().stream().filter(u -> u.node() == node && u.index() == index).toList();
    }

    /** Optional outputs (mean, inverse std, the residual sum of Skip* ops) that someone reads. */
    private static List<Value> sideOutputs(Node node) {
        List<Value> out = new ArrayList<>();
        for (int i = 1; i < node.outputs().size(); i++) {
            Value o = node.output(i);
            if (o != null && !o.name().isEmpty() && (!o.uses().isEmpty() || o.isGraphOutput())) {
                out.add(o);
            }
        }
        return out;
    }
}
