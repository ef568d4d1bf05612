package io.onnxslanc.check.tokenize;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Strict UTF-8 reading and writing: malformed input is an error, never silently replaced. */
public final class Utf8Text {
    private Utf8Text() {
    }

    /** Reads a non-empty UTF-8 text file; a leading byte order mark is dropped. */
    public static String read(Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "text file not found");
        }
        String text = decode(bytes, file.toString());
        if (text.isEmpty()) {
            throw new IllegalArgumentException(file + ": text is empty");
        }
        return text;
    }

    /** Decodes {@code bytes}; the message of a failure names {@code source} and the byte offset. */
    public static String decode(byte[] bytes, String source) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            // the decoder stops in front of the offending bytes
            throw new IllegalArgumentException(String.format("%s: not valid UTF-8 at byte offset %d (%d bad byte%s: %s)",
                    source, in.position(), result.length(), result.length() == 1 ? "" : "s",
                    hex(bytes, in.position(), result.length())));
        }
        out.flip();
        int start = out.length() > 0 && out.charAt(0) == '\uFEFF' ? 1 : 0;
        return out.subSequence(start, out.length()).toString();
    }

    /** UTF-8 bytes of {@code text}; unpaired surrogates (not representable in UTF-8) are an error. */
    public static byte[] encode(String text) {
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            ByteBuffer buffer = encoder.encode(CharBuffer.wrap(text));
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("text contains an unpaired UTF-16 surrogate, which has no UTF-8 form", e);
        }
    }

    private static String hex(byte[] bytes, int from, int count) {
        StringBuilder s = new StringBuilder();
        for (int i = from; i < Math.min(bytes.length, from + count); i++) {
            s.append(s.length() == 0 ? "" : " ").append(String.format("0x%02X", bytes[i] & 0xFF));
        }
        return s.toString();
    }
}
