package io.onnxslanc.io;

/**
 * Names from a model file (tensor names, locations, paths) as they may be printed: a crafted name can hold
 * newlines, escape sequences that drive the terminal, or bidirectional overrides that make a path read as
 * another one. Those characters are shown as {@code \xNN} / {@code \\uNNNN}; everything else is kept.
 */
public final class Names {
    private Names() {
    }

    public static String printable(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean unsafe = c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x202a && c <= 0x202e)
                    || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f || c == 0x061c;
            if (unsafe && b == null) {
                b = new StringBuilder(s.length() + 8).append(s, 0, i);
            }
            if (b != null) {
                if (!unsafe) {
                    b.append(c);
                } else if (c < 0x100) {
                    b.append(String.format("\\x%02x", (int) c));
                } else {
                    b.append(String.format("\\u%04x", (int) c));
                }
            }
        }
        return b == null ? s : b.toString();
    }
}
