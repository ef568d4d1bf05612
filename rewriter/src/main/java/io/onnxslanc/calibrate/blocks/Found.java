package io.onnxslanc.calibrate.blocks;

/**
 * A search result: the thing found, or the reason nothing was found (failures are data, not exceptions).
 *
 * <p>Public because the scale side ({@code calibrate.EmbeddingBound}) reads the quantized-table lookups of this
 * package.
 */
public record Found<T>(T value, String reason) {

    static <T> Found<T> of(T value) {
        return new Found<>(value, null);
    }

    static <T> Found<T> fail(String reason) {
        return new Found<>(null, reason);
    }

    /** Whether something was found; public for the callers of the public lookups in other packages. */
    public boolean ok() {
        return value != null;
    }

    <U> Found<U> map(java.util.function.Function<T, U> f) {
        return ok() ? of(f.apply(value)) : fail(reason);
    }

    <U> Found<U> cast() {
        if (ok()) {
            throw new IllegalStateException("only a failure can change its type");
        }
        return fail(reason);
    }
}
