package io.onnxslanc.cli;

import io.onnxslanc.Progress;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Progress bars on stderr, one line redrawn at most a few times a second; silent when not on a terminal.
 * Tasks are kept per thread, so work running side by side (the data file streaming out while SLaNC computes)
 * shares the line as "task [###   ] 40% | task [#     ] 10%"; a finished task gets a line of its own.
 */
final class TerminalProgress implements Progress {
    private static final int WIDTH = 24;

    private static final class Task {
        final String name;
        final long total;
        long done;

        Task(String name, long total) {
            this.name = name;
            this.total = total;
        }

        String bar() {
            double frac = total <= 0 ? 1 : Math.min(1, (double) done / total);
            int filled = (int) Math.round(frac * WIDTH);
            return String.format("%s [%s%s] %5.1f%%", name, "#".repeat(filled), " ".repeat(WIDTH - filled), frac * 100);
        }
    }

    private final PrintStream err;
    private final Map<Thread, Task> tasks = new LinkedHashMap<>();
    private final long started = System.nanoTime();
    private long lastDraw;
    private int lastWidth;

    private TerminalProgress(PrintStream err) {
        this.err = err;
    }

    /** Progress on a terminal unless {@code quiet}; nothing when stderr is redirected. */
    static Progress create(boolean quiet) {
        return quiet || !StderrTerminal.isTerminal() ? Progress.NONE : new TerminalProgress(System.err);
    }

    @Override
    public synchronized void begin(String t, long totalUnits) {
        tasks.put(Thread.currentThread(), new Task(t, totalUnits));
        draw(true);
    }

    @Override
    public synchronized void advance(long amount) {
        Task t = tasks.get(Thread.currentThread());
        if (t != null) {
            t.done += amount;
            draw(false);
        }
    }

    @Override
    public synchronized void end() {
        Task t = tasks.remove(Thread.currentThread());
        if (t == null) {
            return;
        }
        t.done = t.total;
        print(t.bar() + String.format("  %.1fs", seconds()));
        err.println();
        lastWidth = 0;
        if (!tasks.isEmpty()) {
            draw(true);
        }
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastDraw < 200_000_000L) {
            return;
        }
        lastDraw = now;
        StringBuilder line = new StringBuilder();
        for (Task t : tasks.values()) {
            line.append(line.length() == 0 ? "" : " | ").append(t.bar());
        }
        print(line + String.format("  %.1fs", seconds()));
    }

    /** Redraws the line, blanking what a longer previous line left behind. */
    private void print(String line) {
        err.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
        lastWidth = line.length();
        err.flush();
    }

    private double seconds() {
        return (System.nanoTime() - started) / 1e9;
    }
}
