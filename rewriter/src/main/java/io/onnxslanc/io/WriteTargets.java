package io.onnxslanc.io;

import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files a command must never write: its input model and every external data file that model's tensors are
 * read from. A path to be written is compared with each by real path (symbolic links resolved, also for a
 * target that does not exist yet through its folder) and by {@link Files#isSameFile} (hard links).
 */
public final class WriteTargets {
    private final Map<Path, String> inputs = new LinkedHashMap<>();

    /** Protects {@code modelFile} and the data files {@code model} (read from it) references; model may be null. */
    public static WriteTargets of(Path modelFile, Model model) {
        WriteTargets w = new WriteTargets();
        if (modelFile != null) {
            w.protect(modelFile, "the input model");
        }
        if (model != null) {
            w.protectDataOf(model.graph());
        }
        return w;
    }

    public WriteTargets protect(Path file, String what) {
        inputs.putIfAbsent(canonical(file), what);
        return this;
    }

    /** Whether {@code file} is one of the protected inputs. */
    public boolean protects(Path file) {
        Path t = canonical(file);
        return inputs.keySet().stream().anyMatch(k -> k.equals(t) || sameExistingFile(t, k));
    }

    /** Throws, naming {@code target} and the input it is, when writing {@code target} would change an input. */
    public WriteTargets check(Path target, String role) {
        if (target == null) {
            return this;
        }
        Path t = canonical(target);
        for (Map.Entry<Path, String> e : inputs.entrySet()) {
            if (t.equals(e.getKey()) || sameExistingFile(t, e.getKey())) {
                throw new ModelFormatException(target, "the " + role + " would overwrite " + e.getValue() + " ("
                        + e.getKey().getFileName() + "); inputs are never modified: choose another name");
            }
        }
        return this;
    }

    @SuppressWarnings("unchecked")
    private void protectDataOf(Graph g) {
        for (Value v : g.initializers()) {
            protectBacking(v.constant());
        }
        for (Node n : g.nodes()) {
            for (Attribute a : n.attributes().values()) {
                switch (a.kind()) {
                    case TENSOR -> protectBacking(a.tensorValue());
                    case TENSORS -> ((List<Tensor>) a.value()).forEach(this::protectBacking);
                    case GRAPH -> protectDataOf((Graph) a.value());
                    case GRAPHS -> ((List<Graph>) a.value()).forEach(this::protectDataOf);
                    default -> { }
                }
            }
        }
    }

    private void protectBacking(Tensor t) {
        t.backingFile().ifPresent(f -> protect(f, "an external data file of the input"));
    }

    private static boolean sameExistingFile(Path a, Path b) {
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /** The real path; for a file not there yet, its folder's real path and its name; else the absolute path. */
    static Path canonical(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        try {
            if (Files.exists(abs)) {
                return abs.toRealPath();
            }
            Path parent = abs.getParent();
            if (parent != null && Files.exists(parent)) {
                return parent.toRealPath().resolve(abs.getFileName());
            }
        } catch (IOException e) {
            // fall back to the text form
        }
        return abs;
    }
}
