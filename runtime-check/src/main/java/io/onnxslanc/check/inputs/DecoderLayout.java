package io.onnxslanc.check.inputs;

import io.onnxslanc.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A causal decoder with a KV cache, recognised by its input names as Optimum, ONNX Runtime GenAI and
 * torch.onnx exports spell them: {@code input_ids} together with past key/value inputs ({@code past_key_values.*},
 * {@code past_key.*}, {@code past_value.*}, {@code past_*}), a {@code use_cache_branch} flag (Optimum's merged
 * decoder) or a {@code cache_position}. Such a model needs consistent inputs: the attention mask covers past and new
 * tokens, positions continue after the past.
 */
public record DecoderLayout(String inputIds, String attentionMask, String positionIds, String cachePosition,
                            String useCacheBranch, List<String> pastInputs) {
    public static final String INPUT_IDS = "input_ids";

    public enum Role { INPUT_IDS, ATTENTION_MASK, POSITION_IDS, CACHE_POSITION, USE_CACHE_BRANCH, PAST, OTHER }

    public DecoderLayout {
        pastInputs = List.copyOf(pastInputs);
    }

    /** The role an input of this name plays in a decoder. */
    public static Role role(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return switch (lower) {
            case INPUT_IDS -> Role.INPUT_IDS;
            case "attention_mask" -> Role.ATTENTION_MASK;
            case "position_ids" -> Role.POSITION_IDS;
            case "cache_position" -> Role.CACHE_POSITION;
            case "use_cache_branch" -> Role.USE_CACHE_BRANCH;
            default -> lower.startsWith("past") ? Role.PAST : Role.OTHER;
        };
    }

    /** The decoder layout of these (non-initializer) inputs, or empty when they are not those of a KV-cache decoder. */
    public static Optional<DecoderLayout> of(List<ValueInfoProto> inputs) {
        String ids = null, mask = null, positions = null, cache = null, branch = null;
        List<String> past = new ArrayList<>();
        for (ValueInfoProto in : inputs) {
            String n = in.getName();
            switch (role(n)) {
                case INPUT_IDS -> ids = n;
                case ATTENTION_MASK -> mask = n;
                case POSITION_IDS -> positions = n;
                case CACHE_POSITION -> cache = n;
                case USE_CACHE_BRANCH -> branch = n;
                case PAST -> past.add(n);
                default -> { }
            }
        }
        if (ids == null || (past.isEmpty() && branch == null && cache == null)) {
            return Optional.empty();
        }
        return Optional.of(new DecoderLayout(ids, mask, positions, cache, branch, past));
    }

    /** Optimum's merged decoder: both the no-cache and the with-cache graphs, chosen by {@code use_cache_branch}. */
    public boolean merged() {
        return useCacheBranch != null;
    }

    /**
     * The past input that a present output feeds on the next step, by name: {@code present.0.key} ->
     * {@code past_key_values.0.key}, {@code present_key_0} -> {@code past_key_0}, {@code present_0} -> {@code past_0}.
     */
    public Optional<String> pastFor(String presentOutput) {
        String key = suffix(presentOutput, "present_key_values", "present");
        if (key == null) {
            return Optional.empty();
        }
        for (String p : pastInputs) {
            if (key.equals(suffix(p, "past_key_values", "past"))) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    private static String suffix(String name, String longPrefix, String prefix) {
        if (name.startsWith(longPrefix)) {
            return name.substring(longPrefix.length());
        }
        return name.startsWith(prefix) ? name.substring(prefix.length()) : null;
    }
}
