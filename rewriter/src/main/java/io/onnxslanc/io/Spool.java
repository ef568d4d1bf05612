package io.onnxslanc.io;

import java.nio.file.Path;

/**
 * Part of an output written ahead of its model's final write, into a temp file, while the model is still being
 * changed (SLaNC computing its scales): the final write adopts the file when it is still exactly what that write
 * would produce, and writes everything itself otherwise, so the files are the same either way. Closing a spool not
 * adopted deletes its file.
 */
public abstract sealed class Spool implements AutoCloseable permits DataSpool, HeadSpool {
    private Path temp;
    private boolean adopted;

    Spool(Path temp) {
        this.temp = temp;
    }

    /** Whether a write took the file over (else it was, or will be, deleted). */
    public final synchronized boolean adopted() {
        return adopted;
    }

    /** Whether the file is still there to adopt (not adopted, not closed). */
    final synchronized boolean holdsFile() {
        return temp != null;
    }

    /** Hands the file over to the writer, which finishes it and renames it into place. */
    final synchronized Path adopt() {
        if (temp == null) {
            throw new IllegalStateException(this + " was already adopted or closed");
        }
        Path p = temp;
        temp = null;
        adopted = true;
        return p;
    }

    @Override
    public final synchronized void close() {
        if (temp != null) {
            TempFiles.deleteQuietly(temp);
            temp = null;
        }
    }
}
