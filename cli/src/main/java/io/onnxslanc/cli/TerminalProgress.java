package io.onnxslanc.cli;

import io.onnxslanc.io.Progress;
import java.io.PrintStream;

/** A one-line progress bar on stderr, redrawn at most a few times a second; silent when not on a terminal. */
final class TerminalProgress implements Progress {
    private final PrintStream err;
    private String task = "";
    private long total;
    private long done;
    private long lastDraw;
    private final long started = System.nanoTime();

    private TerminalProgress(PrintStream err) {
        this.err = err;
    }

    /** Progress on a terminal unless {@code quiet}; nothing when output is redirected. */
    static Progress create(boolean quiet) {
        return quiet || System.console() == null ? Progress.NONE : new TerminalProgress(System.err);
    }

    @Override
    public synchronized void begin(String t, long totalUnits) {
        this.task = t;
        this.total = totalUnits;
        this.done = 0;
        draw(true);
    }

    @Override
    public synchronized void advance(long amount) {
        done += amount;
        draw(false);
    }

    @Override
    public synchronized void end() {
        done = total;
        draw(true);
        err.println();
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastDraw < 200_000_000L) {
            return;
        }
        lastDraw = now;
        double frac = total <= 0 ? 1 : Math.min(1, (double) done / total);
        int width = 30;
        int filled = (int) Math.round(frac * width);
        double secs = (now - started) / 1e9;
        err.printf("\r%-40s [%s%s] %5.1f%%  %.1fs", task, "#".repeat(filled), " ".repeat(width - filled), frac * 100, secs);
        err.flush();
    }
}
