package io.onnxslanc.io;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.util.List;

/**
 * The head of an inline model written ahead ({@link ModelWriter#spool}): the model's leading fields and its large
 * weights in the weights-first layout ({@link ProtoEncoder.WeightsFirst}), in a temp file beside the output. The
 * final write appends the graph's structure and fills in the graph's length when the head it would write has the
 * same signature (the same fields, tensor headers and content keys); otherwise it writes the whole file itself.
 */
public final class HeadSpool implements Spool {
    private final Path out;
    private final List<ByteString> signature;
    private final long headSize;
    private Path temp;
    private boolean adopted;

    HeadSpool(Path out, List<ByteString> signature, long headSize, Path temp) {
        this.out = out;
        this.signature = signature;
        this.headSize = headSize;
        this.temp = temp;
    }

    @Override
    public synchronized boolean adopted() {
        return adopted;
    }

    /** Whether the head of {@code layout}, written for {@code target}, would be exactly this file. */
    synchronized boolean matches(Path target, ProtoEncoder.WeightsFirst layout) {
        return temp != null && target.equals(out) && headSize == layout.headSize()
                && signature.equals(layout.signature());
    }

    long headSize() {
        return headSize;
    }

    /** Hands the file over to the writer, which appends the rest and renames it into place. */
    synchronized Path adopt() {
        if (temp == null) {
            throw new IllegalStateException("head spool for " + out + " was already adopted or closed");
        }
        Path p = temp;
        temp = null;
        adopted = true;
        return p;
    }

    @Override
    public synchronized void close() {
        if (temp != null) {
            TempFiles.deleteQuietly(temp);
            temp = null;
        }
    }

    @Override
    public String toString() {
        return "HeadSpool[" + out.getFileName() + ", " + (signature.size() - 1) + " tensors, " + headSize + " bytes]";
    }
}
