package io.onnxslanc.check.tokenize;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Loads a tokenizer file, telling the format from its content rather than its name. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /** A Hugging Face tokenizer.json (a JSON object) or a llama2.c tokenizer binary; close it after use. */
    public static TextTokenizer load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "tokenizer file not found");
        }
        byte[] content = Files.readAllBytes(file);
        if (content.length == 0) {
            throw new IllegalArgumentException(file + ": tokenizer file is empty");
        }
        String source = file.toString();
        if (looksLikeJsonObject(content)) {
            try {
                return HfTokenizerJson.parse(content, source);
            } catch (HfTokenizerJson.NotJson notJson) {
                // a llama2.c file whose max_token_length is 123 also starts with '{'
                try {
                    return Llama2cTokenizer.parse(content, source);
                } catch (Llama2cTokenizer.NotLlama2c e) {
                    throw notJson;
                }
            }
        }
        try {
            return Llama2cTokenizer.parse(content, source);
        } catch (Llama2cTokenizer.NotLlama2c e) {
            throw new IllegalArgumentException(source + ": neither a Hugging Face tokenizer.json (a JSON object)"
                    + " nor a llama2.c tokenizer binary; read as llama2.c: " + e.problem(), e);
        }
    }

    /** First non-blank character (after an optional UTF-8 byte order mark) is '{'. */
    static boolean looksLikeJsonObject(byte[] content) {
        int i = content.length >= 3 && (content[0] & 0xFF) == 0xEF && (content[1] & 0xFF) == 0xBB
                && (content[2] & 0xFF) == 0xBF ? 3 : 0;
        while (i < content.length && (content[i] == ' ' || content[i] == '\t' || content[i] == '\n'
                || content[i] == '\r')) {
            i++;
        }
        return i < content.length && content[i] == '{';
    }
}
