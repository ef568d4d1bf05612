package io.onnxslanc.io;

import io.onnxslanc.ir.Model;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * A model write whose weights are streamed ahead, on a background thread, from a twin of the model (the same
 * weights, read again without them on the heap) while the caller still changes the model: its external data file
 * ({@link DataSpool}) or, for an inline model, the head of the file with the weights in it ({@link HeadSpool}).
 * {@link #write} adopts what was spooled when it is still exact, otherwise it writes everything itself: the output
 * files are byte-identical either way. Closing it before {@link #write} stops
 * the background thread and deletes its file.
 */
public final class SpooledWrite implements AutoCloseable {
    private final Path out;
    private final WriteOptions options;
    private final Thread thread;
    private final CompletableFuture<Spool> spooling;
    private Spool spool;

    /** A write failure on the background thread, carried to the caller. */
    private static final class SpoolFailure extends RuntimeException {
        SpoolFailure(Throwable cause) {
            super(cause);
        }
    }

    private SpooledWrite(Path out, WriteOptions options, Thread thread, CompletableFuture<Spool> spooling) {
        this.out = out;
        this.options = options;
        this.thread = thread;
        this.spooling = spooling;
    }

    /** Starts writing {@code twin}'s data file for {@code out}; a null twin streams nothing ahead (a plain write). */
    public static SpooledWrite start(Model twin, Path out, WriteOptions options) {
        if (twin == null) {
            return new SpooledWrite(out, options, null, null);
        }
        CompletableFuture<Spool> result = new CompletableFuture<>();
        Thread writer = new Thread(() -> {
            try {
                result.complete(ModelWriter.spool(twin, out, options));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }, "slanc-data-spool");
        writer.setDaemon(true);
        writer.start();
        return new SpooledWrite(out, options, writer, result);
    }

    /**
     * What a write did: whether the spooled data file was adopted, and the data file written (null when everything
     * went inline; a fresh name when an earlier output pair was replaced).
     */
    public record Written(boolean spooled, Path dataFile) {
    }

    /** Waits for the data file, then writes {@code model}. */
    public Written write(Model model) {
        spool = spooling == null ? null : await(spooling);
        Path dataFile = ModelWriter.write(model, out, options, spool);
        return new Written(spool != null && spool.adopted(), dataFile);
    }

    @Override
    public void close() {
        if (spooling != null && spool == null) {
            thread.interrupt(); // a failure before the write: stop streaming, wait until its file is deleted
            try {
                Spool late = await(spooling);
                if (late != null) {
                    late.close();
                }
            } catch (RuntimeException ignored) {
                // it failed on the interrupt and deleted its file
            }
        }
        if (spool != null) {
            spool.close(); // no-op once adopted
        }
    }

    /** The spool's result; its exceptions are rethrown as they were thrown (unchecked ones unwrapped). */
    private static Spool await(Future<Spool> f) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new SpoolFailure(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
