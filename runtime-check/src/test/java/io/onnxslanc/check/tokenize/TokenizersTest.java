package io.onnxslanc.check.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizersTest {
    @TempDir
    Path dir;

    @Test
    void llama2cBinaryIsDetected() throws IOException {
        TextTokenizer t = Tokenizers.load(TestData.file("stories260K/tok512.bin"));
        assertInstanceOf(Llama2cTokenizer.class, t);
        assertEquals(512, t.vocabSize());
    }

    @Test
    void missingFile() {
        Path missing = dir.resolve("nope.bin");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Tokenizers.load(missing));
        assertTrue(e.getMessage().contains("nope.bin") && e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void neitherFormat() throws IOException {
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "just some words, not a tokenizer\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(text));
        assertTrue(e.getMessage().startsWith(text + ": neither a Hugging Face tokenizer.json"), e.getMessage());
    }

    @Test
    void jsonThatIsNotATokenizer() throws IOException {
        Path json = dir.resolve("config.json");
        Files.writeString(json, "{\"hidden_size\": 64}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(json));
        assertTrue(e.getMessage().startsWith(json + ": not a Hugging Face tokenizer.json"), e.getMessage());
    }

    @Test
    void brokenJson() throws IOException {
        Path json = dir.resolve("tokenizer.json");
        Files.writeString(json, "{\"model\": ");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(json));
        assertTrue(e.getMessage().startsWith(json + ": not valid JSON"), e.getMessage());
    }

    @Test
    void emptyFile() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.bin"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.load(empty));
        assertEquals(empty + ": tokenizer file is empty", e.getMessage());
    }

    @Test
    void invalidUtf8TextNamesFileAndOffset() throws IOException {
        Path text = dir.resolve("latin1.txt");
        byte[] bytes = "caf\u00E9 au lait".getBytes(StandardCharsets.ISO_8859_1); // é as the single byte 0xE9
        Files.write(text, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Utf8Text.read(text));
        assertTrue(e.getMessage().startsWith(text + ": not valid UTF-8 at byte offset 3"), e.getMessage());
    }

    @Test
    void truncatedUtf8AtEndOfFile() throws IOException {
        Path text = dir.resolve("cut.txt");
        byte[] full = "ok \uD83D\uDE42".getBytes(StandardCharsets.UTF_8);
        Files.write(text, java.util.Arrays.copyOf(full, full.length - 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Utf8Text.read(text));
        assertTrue(e.getMessage().startsWith(text + ": not valid UTF-8 at byte offset 3"), e.getMessage());
    }

    @Test
    void emptyText() throws IOException {
        Path text = Files.createFile(dir.resolve("empty.txt"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Utf8Text.read(text));
        assertEquals(text + ": text is empty", e.getMessage());
    }

    @Test
    void byteOrderMarkIsDropped() throws IOException {
        Path text = dir.resolve("bom.txt");
        Files.write(text, new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 'h', 'i'});
        assertEquals("hi", Utf8Text.read(text));
    }

    @Test
    void missingTextFile() {
        Path missing = dir.resolve("missing.txt");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Utf8Text.read(missing));
        assertTrue(e.getMessage().contains("missing.txt"), e.getMessage());
    }
}
