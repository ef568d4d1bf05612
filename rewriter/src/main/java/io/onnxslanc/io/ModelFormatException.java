package io.onnxslanc.io;

import java.nio.file.Path;

/** A model file (or its external data) that cannot be read or written; the message names the file (printable). */
public final class ModelFormatException extends RuntimeException {
    public ModelFormatException(Path file, String problem) {
        super(Names.printable(String.valueOf(file)) + ": " + Names.printable(problem));
    }

    public ModelFormatException(Path file, String problem, Throwable cause) {
        super(Names.printable(String.valueOf(file)) + ": " + Names.printable(problem), cause);
    }
}
