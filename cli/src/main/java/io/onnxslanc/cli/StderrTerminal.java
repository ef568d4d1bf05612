package io.onnxslanc.cli;

import java.io.Console;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether stderr, where the progress bars go, is a terminal, on every JDK from 17 on. {@code System.console() != null}
 * alone is not enough: from JDK 22 on the console exists even when output is redirected (its new
 * {@code isTerminal()} tells), and on any JDK it says nothing about stderr itself ({@code 2> log} keeps a console).
 * So: a console that is a terminal, and where Linux shows it ({@code /proc/self/fd/2}) stderr on a tty device, and
 * TERM not "dumb".
 */
final class StderrTerminal {
    private StderrTerminal() {
    }

    static boolean isTerminal() {
        Console console = System.console();
        Path fd2 = Path.of("/proc/self/fd/2");
        String stderrTarget = null;
        try {
            stderrTarget = Files.isSymbolicLink(fd2) ? Files.readSymbolicLink(fd2).toString() : null;
        } catch (Exception e) {
            // not Linux, or /proc hidden: the console alone decides
        }
        return decide(console != null, console == null ? null : consoleIsTerminal(console), stderrTarget,
                System.getenv("TERM"));
    }

    /**
     * @param hasConsole        System.console() != null
     * @param consoleIsTerminal Console.isTerminal() on JDK 22+, null before (where a console implies a terminal)
     * @param stderrTarget      where /proc/self/fd/2 points, null where that is unknown
     * @param term              $TERM
     */
    static boolean decide(boolean hasConsole, Boolean consoleIsTerminal, String stderrTarget, String term) {
        if (!hasConsole || Boolean.FALSE.equals(consoleIsTerminal) || "dumb".equals(term)) {
            return false;
        }
        return stderrTarget == null || stderrTarget.startsWith("/dev/pts/") || stderrTarget.startsWith("/dev/tty");
    }

    /** Console.isTerminal() (JDK 22+) by reflection, so the code still compiles and runs on 17; null before 22. */
    private static Boolean consoleIsTerminal(Console console) {
        try {
            Method m = Console.class.getMethod("isTerminal");
            return (Boolean) m.invoke(console);
        } catch (NoSuchMethodException e) {
            return null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }
}
