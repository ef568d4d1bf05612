package io.onnxslanc.io;

/**
 * Part of an output written ahead of its model's final write, while the model is still being changed (SLaNC
 * computing its scales): the final write adopts it when it is still exactly what that write would produce, and
 * writes everything itself otherwise, so the files are the same either way. Closing one not adopted deletes its file.
 */
public sealed interface Spool extends AutoCloseable permits DataSpool, HeadSpool {
    /** Whether a write took the file over (else it was, or will be, deleted). */
    boolean adopted();

    @Override
    void close();
}
