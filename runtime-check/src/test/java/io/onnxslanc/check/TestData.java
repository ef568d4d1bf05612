package io.onnxslanc.check;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The read-only shared test data (system property slanc.data, set by surefire; else ../shared/data). */
public final class TestData {
    private TestData() {
    }

    public static Path dir() {
        String configured = System.getProperty("slanc.data");
        if (configured != null && !configured.isBlank()) {
            return Paths.get(configured);
        }
        for (String candidate : new String[] {"../shared/data", "../../shared/data"}) {
            if (Files.isDirectory(Paths.get(candidate))) {
                return Paths.get(candidate);
            }
        }
        return Paths.get("../shared/data");
    }

    public static Path file(String relative) {
        return dir().resolve(relative);
    }
}
