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
public final class HeadSpool extends Spool {
    private final Path out;
    private final List<ByteString> signature;
    private final long headSize;

    HeadSpool(Path out, List<ByteString> signature, long headSize, Path temp) {
        super(temp);
        this.out = out;
        this.signature = signature;
        this.headSize = headSize;
    }

    /** Whether the head of {@code layout}, written for {@code target}, would be exactly this file. */
    boolean matches(Path target, ProtoEncoder.WeightsFirst layout) {
        return holdsFile() && target.equals(out) && headSize == layout.headSize()
                && signature.equals(layout.signature());
    }

    @Override
    public String toString() {
        return "HeadSpool[" + out.getFileName() + ", " + (signature.size() - 1) + " tensors, " + headSize + " bytes]";
    }
}
