package io.onnxslanc.samples.llama;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Minimal llama2.c tokenizer for tests: decoding, and the encoder of run.c (dummy-prefix space,
 * one token per UTF-8 character or byte tokens, then greedy merges of the best-scoring pair).
 */
final class Llama2cVocab {

    static final int BOS = 1;

    final byte[][] pieces;
    final float[] scores;
    private final Map<String, Integer> ids = new HashMap<>();

    private Llama2cVocab(byte[][] pieces, float[] scores) {
        this.pieces = pieces;
        this.scores = scores;
        for (int i = 0; i < pieces.length; i++) ids.putIfAbsent(new String(pieces[i], StandardCharsets.ISO_8859_1), i);
    }

    static Llama2cVocab read(Path file, int vocabSize) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt(); // max token length
        byte[][] pieces = new byte[vocabSize][];
        float[] scores = new float[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            scores[i] = b.getFloat();
            pieces[i] = new byte[b.getInt()];
            b.get(pieces[i]);
        }
        return new Llama2cVocab(pieces, scores);
    }

    /** Bytes of one token as run.c prints it: byte tokens "<0xXX>" become that byte. */
    byte[] bytes(int prev, int token) {
        byte[] p = pieces[token];
        String s = new String(p, StandardCharsets.ISO_8859_1);
        if (prev == BOS && s.startsWith(" ")) return java.util.Arrays.copyOfRange(p, 1, p.length);
        if (s.length() == 6 && s.startsWith("<0x") && s.endsWith(">")) return new byte[] {(byte) Integer.parseInt(s.substring(3, 5), 16)};
        return p;
    }

    String decode(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1; i < tokens.length; i++) out.writeBytes(bytes(tokens[i - 1], tokens[i]));
        return out.toString(StandardCharsets.UTF_8);
    }

    /** BOS followed by the tokens of text. */
    int[] encode(String text) {
        List<Integer> toks = new ArrayList<>();
        if (!text.isEmpty()) toks.add(ids.get(" "));
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < utf8.length; ) {
            int len = charLength(utf8[i]);
            len = Math.min(len, utf8.length - i);
            Integer id = ids.get(new String(utf8, i, len, StandardCharsets.ISO_8859_1));
            if (id != null) {
                toks.add(id);
            } else {
                for (int k = 0; k < len; k++) toks.add((utf8[i + k] & 0xff) + 3);
            }
            i += len;
        }
        // merge[i] = id of the token toks[i] + toks[i + 1], or -1; only the neighbours of a merge change
        List<Integer> merge = new ArrayList<>();
        for (int i = 0; i + 1 < toks.size(); i++) merge.add(pairId(toks.get(i), toks.get(i + 1)));
        while (true) {
            double best = -1e10;
            int bestIdx = -1;
            for (int i = 0; i < merge.size(); i++) {
                int id = merge.get(i);
                if (id >= 0 && scores[id] > best) {
                    best = scores[id];
                    bestIdx = i;
                }
            }
            if (bestIdx < 0) break;
            toks.set(bestIdx, merge.get(bestIdx));
            toks.remove(bestIdx + 1);
            merge.remove(bestIdx);
            if (bestIdx > 0) merge.set(bestIdx - 1, pairId(toks.get(bestIdx - 1), toks.get(bestIdx)));
            if (bestIdx < merge.size()) merge.set(bestIdx, pairId(toks.get(bestIdx), toks.get(bestIdx + 1)));
        }
        int[] out = new int[toks.size() + 1];
        out[0] = BOS;
        for (int i = 0; i < toks.size(); i++) out[i + 1] = toks.get(i);
        return out;
    }

    private int pairId(int a, int b) {
        Integer id = ids.get(new String(pieces[a], StandardCharsets.ISO_8859_1) + new String(pieces[b], StandardCharsets.ISO_8859_1));
        return id == null ? -1 : id;
    }

    private static int charLength(byte lead) {
        int b = lead & 0xff;
        if (b >= 0xf0) return 4;
        if (b >= 0xe0) return 3;
        if (b >= 0xc0) return 2;
        return 1;
    }
}
