package io.onnxslanc.samples.llama;

import java.io.IOException;
import java.nio.file.Path;

/** A file that is not a valid llama2.c checkpoint; the message names the file and the problem. */
public class Llama2cFormatException extends IOException {
    public Llama2cFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
