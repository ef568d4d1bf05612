package io.onnxslanc;

/** Progress of long reads, writes and computations; the CLI draws it on a terminal, libraries ignore it. */
public interface Progress {
    Progress NONE = new Progress() {
        @Override
        public void begin(String task, long total) {
        }

        @Override
        public void advance(long amount) {
        }

        @Override
        public void end() {
        }
    };

    /** Starts a task measured in {@code total} units (bytes, layers, ...). */
    void begin(String task, long total);

    void advance(long amount);

    void end();
}
