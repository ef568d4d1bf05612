package io.onnxslanc.check.ep;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Ordered execution-provider preference, parsed from "cpu", "cuda" or "cuda,cpu".
 * "cuda,cpu" means: use CUDA, and fall back to the CPU provider when CUDA cannot be loaded.
 */
public record ProviderChoice(List<Provider> order) {

    public enum Provider { CPU, CUDA }

    public ProviderChoice {
        order = List.copyOf(order);
        if (order.isEmpty()) throw new IllegalArgumentException("no execution provider given (use cpu, cuda or cuda,cpu)");
    }

    public static final ProviderChoice CPU = new ProviderChoice(List.of(Provider.CPU));

    public static ProviderChoice parse(String spec) {
        if (spec == null || spec.isBlank())
            throw new IllegalArgumentException("empty execution provider list (use cpu, cuda or cuda,cpu)");
        List<Provider> out = new ArrayList<>();
        for (String part : spec.split(",", -1)) {
            String p = part.trim().toLowerCase(Locale.ROOT);
            Provider provider = switch (p) {
                case "cpu" -> Provider.CPU;
                case "cuda", "gpu" -> Provider.CUDA;
                default -> throw new IllegalArgumentException("unknown execution provider '" + part.trim()
                        + "' in '" + spec + "' (known: cpu, cuda; e.g. cuda,cpu)");
            };
            if (out.contains(provider))
                throw new IllegalArgumentException("execution provider '" + p + "' listed twice in '" + spec + "'");
            out.add(provider);
        }
        // ORT gives each node to the first provider that takes it; the CPU provider takes every node.
        if (out.get(0) == Provider.CPU && out.size() > 1)
            throw new IllegalArgumentException("'" + spec + "': cpu takes every node, so nothing would run on "
                    + out.get(1).name().toLowerCase(Locale.ROOT) + "; list cpu last (e.g. cuda,cpu)");
        return new ProviderChoice(out);
    }

    public boolean wantsCuda() {
        return order.contains(Provider.CUDA);
    }

    /** True when the CPU provider is an accepted fallback (listed after another provider, or alone). */
    public boolean allowsCpu() {
        return order.contains(Provider.CPU);
    }

    @Override
    public String toString() {
        return String.join(",", order.stream().map(p -> p.name().toLowerCase(Locale.ROOT)).toList());
    }
}
