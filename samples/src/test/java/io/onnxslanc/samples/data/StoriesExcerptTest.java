package io.onnxslanc.samples.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The raw TinyStories layout (stories between <|endoftext|> lines) to the excerpt's (stories between blank lines). */
class StoriesExcerptTest {
    private static String convert(String raw, int size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StoriesExcerpt.convert(new ByteArrayInputStream(raw.getBytes(StandardCharsets.UTF_8)), size, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void storiesAreStrippedAndSeparatedByABlankLine() throws IOException {
        String raw = " Spot ran.\n\nHe was happy.\n<|endoftext|>\nOnce upon a time <b> and <| a cat.\n<|endoftext|>\n\nThe end. More";
        String expected = "Spot ran.\n\nHe was happy.\n\nOnce upon a time <b> and <| a cat.\n\nThe end. More\n\n";
        assertEquals(expected, convert(raw, expected.length()));
        assertEquals(expected.substring(0, 20), convert(raw, 20), "stops after size bytes");
    }

    @Test
    void aTextShorterThanTheExcerptIsAnError() {
        IOException e = assertThrows(IOException.class, () -> convert("One story.\n<|endoftext|>\n", 100));
        assertTrue(e.getMessage().contains("ended after 12 bytes of the excerpt, 100 expected"), e.getMessage());
    }
}
