package io.onnxslanc.ir;

import java.util.HashSet;
import java.util.Set;

/** Hands out names unique across a model (its main graph and every subgraph). */
final class NameRegistry {
    private final Set<String> used = new HashSet<>();

    boolean reserve(String name) {
        return used.add(name);
    }

    void release(String name) {
        used.remove(name);
    }

    boolean isUsed(String name) {
        return used.contains(name);
    }

    String fresh(String base) {
        if (used.add(base)) {
            return base;
        }
        for (int i = 1; ; i++) {
            String candidate = base + "_" + i;
            if (used.add(candidate)) {
                return candidate;
            }
        }
    }
}
