package io.onnxslanc.samples.llama;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The read-only shared test data folder (system property slanc.data, set by surefire). */
final class TestData {
    private TestData() {}

    static Path dir() {
        String prop = System.getProperty("slanc.data");
        Path p = prop != null ? Path.of(prop) : Path.of("../../shared/data");
        assumeTrue(Files.isDirectory(p), "test data folder not found: " + p.toAbsolutePath());
        return p;
    }

    static Path stories260K() {
        return dir().resolve("stories260K/stories260K.bin");
    }

    static Path tok512() {
        return dir().resolve("stories260K/tok512.bin");
    }

    static Path tinyStoriesVal() {
        return dir().resolve("text/tinystories-val.txt");
    }
}
