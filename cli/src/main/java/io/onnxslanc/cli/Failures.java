package io.onnxslanc.cli;

import io.onnxslanc.io.Names;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ConcurrentModificationException;
import java.util.List;
import picocli.CommandLine.ParseResult;

/**
 * What a failed command prints: one {@code error: <file>: <problem>} line and at most one hint line, for every
 * Throwable (a bad file, a full disk, an exhausted heap, a bug); the stack trace only with {@code --debug}.
 * Names and messages are printed with control characters escaped ({@link Names#printable}).
 */
final class Failures {
    /** The option that asks for stack traces; accepted anywhere on the command line, by every command. */
    static final String DEBUG = "--debug";

    private Failures() {
    }

    /** Prints the failure and returns the exit code (1). */
    static int report(Throwable ex, ParseResult parsed, boolean debug, PrintWriter err) {
        for (String line : lines(ex, subject(parsed))) {
            err.println(line);
        }
        if (debug) {
            ex.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    static List<String> lines(Throwable ex, Path subject) {
        String who = subject == null ? "" : Names.printable(subject.toString()) + ": ";
        if (ex instanceof OutOfMemoryError) {
            return List.of("error: " + who + "out of memory (Java heap limit " + (Runtime.getRuntime().maxMemory() >> 20)
                    + " MiB); nothing was written", "hint: rerun with a larger heap, e.g. java -Xmx2g -jar onnx-slanc.jar ...");
        }
        if (ex instanceof StackOverflowError) {
            return List.of("error: " + who + "the model is nested too deeply to process (stack overflow); nothing was written",
                    "hint: rerun with a larger thread stack, e.g. java -Xss64m -jar onnx-slanc.jar ...");
        }
        String message = oneLine(ex);
        if (isBug(ex)) {
            return List.of("error: " + who + "internal error (" + ex.getClass().getSimpleName()
                    + (ex.getMessage() == null ? "" : ": " + message) + "); nothing was written",
                    "hint: rerun with " + DEBUG + " for the stack trace and report it");
        }
        if (subject != null && !message.contains(subject.toString()) && !message.contains(who.strip())) {
            message = who + message;
        }
        return List.of("error: " + message);
    }

    /** The message of {@code ex} (or its cause's, or its class) on one printable line. */
    static String oneLine(Throwable ex) {
        Throwable t = ex;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return Names.printable(m.replace("\r\n", " ").replace('\n', ' ').strip());
    }

    /** Exceptions no bad input should cause: the JVM's own signs of a programming error. */
    private static boolean isBug(Throwable ex) {
        return ex instanceof NullPointerException || ex instanceof ClassCastException
                || ex instanceof IndexOutOfBoundsException || ex instanceof ArithmeticException
                || ex instanceof NegativeArraySizeException || ex instanceof ConcurrentModificationException
                || ex instanceof UnsupportedOperationException || ex instanceof ArrayStoreException
                || (ex instanceof Error && !(ex instanceof VirtualMachineError));
    }

    /** The first file named on the command line of the command that ran (its input, as a rule). */
    static Path subject(ParseResult parsed) {
        if (parsed == null) {
            return null;
        }
        ParseResult p = parsed;
        while (p.subcommand() != null) {
            p = p.subcommand();
        }
        for (var positional : p.matchedPositionals()) {
            Object v = positional.getValue();
            if (v instanceof Path path) {
                return path;
            }
        }
        for (var option : p.matchedOptions()) {
            Object v = option.getValue();
            if (v instanceof Path path && !option.names()[0].contains("report") && !option.names()[0].contains("out")) {
                return path;
            }
        }
        return null;
    }
}
