package io.onnxslanc.check.perplexity;

import java.util.ArrayList;
import java.util.List;

/**
 * How a long token sequence is cut into windows the model can take. With a BOS id, each window's model input is
 * BOS followed by the window's tokens, and every window token can be scored (the first one is predicted from BOS
 * alone, as in llama2.c); without BOS the first token of a window is context only.
 */
public sealed interface WindowProtocol {

    /** Tokens per window (the model sees at most this many positions). */
    int window();

    /** The windows for a sequence of {@code tokens} tokens. */
    List<Window> plan(int tokens, boolean bos);

    /** For reports, e.g. "non-overlapping windows of 512 tokens (remainder dropped)". */
    String describe();

    /** GPTQ convention: consecutive windows of {@code window} tokens, a shorter tail dropped. */
    static WindowProtocol nonOverlapping(int window) {
        return new NonOverlapping(window);
    }

    /** Hugging Face convention: windows advance by {@code stride}; each token is scored once, with most context. */
    static WindowProtocol sliding(int window, int stride) {
        return new Sliding(window, stride);
    }

    /**
     * Tokens {@code [start, end)} form the window; targets {@code [firstScored, end)} are scored. Without BOS
     * {@code firstScored > start}.
     */
    record Window(int start, int end, int firstScored) {
        public int length() {
            return end - start;
        }

        public int scored() {
            return end - firstScored;
        }
    }

    record NonOverlapping(int window) implements WindowProtocol {
        public NonOverlapping {
            if (window < 1) {
                throw new IllegalArgumentException("window must be at least 1 token, got " + window);
            }
        }

        @Override
        public List<Window> plan(int tokens, boolean bos) {
            List<Window> windows = new ArrayList<>();
            if (tokens < window) {
                // shorter than one window: score it whole rather than nothing
                windows.add(new Window(0, tokens, bos ? 0 : 1));
            } else {
                for (int start = 0; start + window <= tokens; start += window) {
                    windows.add(new Window(start, start + window, bos ? start : start + 1));
                }
            }
            windows.removeIf(w -> w.scored() <= 0);
            return windows;
        }

        @Override
        public String describe() {
            return "non-overlapping windows of " + window + " tokens (remainder dropped)";
        }
    }

    record Sliding(int window, int stride) implements WindowProtocol {
        public Sliding {
            if (window < 1 || stride < 1 || stride > window) {
                throw new IllegalArgumentException("sliding window needs 1 <= stride <= window, got window "
                        + window + " stride " + stride);
            }
        }

        @Override
        public List<Window> plan(int tokens, boolean bos) {
            List<Window> windows = new ArrayList<>();
            int scoredUpTo = 0;
            for (int start = 0; start < tokens; start += stride) {
                int end = Math.min(start + window, tokens);
                int first = Math.max(scoredUpTo, bos ? start : start + 1);
                if (first < end) {
                    windows.add(new Window(start, end, first));
                }
                scoredUpTo = end;
                if (end == tokens) {
                    break;
                }
            }
            return windows;
        }

        @Override
        public String describe() {
            return "sliding window of " + window + " tokens, stride " + stride;
        }
    }
}
