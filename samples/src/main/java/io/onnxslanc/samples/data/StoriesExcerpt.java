package io.onnxslanc.samples.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The TinyStories validation excerpt from the raw text file: the raw file separates stories by lines holding
 * {@code <|endoftext|>}; the excerpt holds each story with its surrounding white space stripped, followed by a blank
 * line, and ends after {@code size} bytes. The raw file (about 19 MB) is read only as far as needed.
 */
final class StoriesExcerpt {
    private static final String SEPARATOR = "<|endoftext|>";

    private StoriesExcerpt() {
    }

    /** Writes the first {@code size} bytes of the excerpt to {@code out}; fails if the raw text ends before. */
    static void convert(InputStream raw, long size, OutputStream out) throws IOException {
        byte[] sep = SEPARATOR.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream story = new ByteArrayOutputStream();
        long written = 0;
        int matched = 0; // bytes of the separator seen so far
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = raw.read(buf)) > 0 && written < size; ) {
            for (int i = 0; i < n && written < size; i++) {
                byte b = buf[i];
                if (b == sep[matched]) {
                    if (++matched == sep.length) {
                        written += emit(story, out, size - written);
                        story.reset();
                        matched = 0;
                    }
                    continue;
                }
                story.write(sep, 0, matched); // a partial match was story text after all
                matched = b == sep[0] ? 1 : 0;
                if (matched == 0) {
                    story.write(b);
                }
            }
        }
        if (written < size) {
            story.write(sep, 0, matched);
            written += emit(story, out, size - written);
        }
        if (written < size) {
            throw new IOException("the raw text ended after " + written + " bytes of the excerpt, " + size + " expected");
        }
    }

    /** The story stripped, then a blank line; at most {@code room} bytes. Returns the bytes written. */
    private static long emit(ByteArrayOutputStream story, OutputStream out, long room) throws IOException {
        String text = story.toString(StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) {
            return 0;
        }
        byte[] bytes = (text + "\n\n").getBytes(StandardCharsets.UTF_8);
        int len = (int) Math.min(bytes.length, room);
        out.write(bytes, 0, len);
        return len;
    }
}
