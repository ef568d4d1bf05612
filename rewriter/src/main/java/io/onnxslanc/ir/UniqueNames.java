package io.onnxslanc.ir;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * The one unique-name allocator: hands out {@code base}, else {@code base_1}, {@code base_2}, ... A graph keeps one
 * for the whole model (main graph and subgraphs, {@link Graph#uniqueName}); code that edits raw protobuf models
 * starts one from the names already in use.
 */
public final class UniqueNames {
    private final Set<String> used = new HashSet<>();

    public UniqueNames() {
    }

    /** An allocator that avoids {@code taken}. */
    public UniqueNames(Collection<String> taken) {
        used.addAll(taken);
    }

    /** Marks {@code name} used; false when it already was. */
    public boolean reserve(String name) {
        return used.add(name);
    }

    void release(String name) {
        used.remove(name);
    }

    public boolean isUsed(String name) {
        return used.contains(name);
    }

    /** A name not used yet, derived from {@code base}, and reserved. */
    public String fresh(String base) {
        String name = unused(base);
        used.add(name);
        return name;
    }

    /** A name not used yet, derived from {@code base}, without reserving it (for a rename that reserves itself). */
    public String unused(String base) {
        if (!used.contains(base)) {
            return base;
        }
        for (int i = 1; ; i++) {
            String candidate = base + "_" + i;
            if (!used.contains(candidate)) {
                return candidate;
            }
        }
    }
}
