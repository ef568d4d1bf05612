package io.onnxslanc.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The one rule for tests that read the shared data folder (stories260K, tok512.bin, tinystories-val.txt): a user's
 * clone has no {@code ../shared/data}, so such a test is skipped with one line naming the missing file; CI, where the
 * folder is present, sets {@code SLANC_REQUIRE_DATA=1} so that a missing file fails the test instead of hiding it.
 *
 * <p>The folder is the system property {@code slanc.data} (the parent POM sets it to {@code ../shared/data} beside the
 * project, or to {@code $SLANC_DATA}), else {@code $SLANC_DATA}, else {@code ../shared/data} or
 * {@code ../../shared/data} seen from the working directory (a test run from an IDE).
 */
public final class SharedData {
    /** The environment variable that turns a skip into a failure. */
    public static final String REQUIRE_ENV = "SLANC_REQUIRE_DATA";

    private SharedData() {
    }

    /** The data folder as configured; it may not exist. */
    public static Path dir() {
        String configured = System.getProperty("slanc.data");
        if (configured == null || configured.isBlank()) {
            configured = System.getenv("SLANC_DATA");
        }
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        for (String candidate : new String[] {"../shared/data", "../../shared/data"}) {
            if (Files.isDirectory(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        return Path.of("../shared/data");
    }

    /**
     * The file {@code relative} inside the data folder; when it is missing the calling test is skipped (aborted with
     * an assumption) or, with {@code SLANC_REQUIRE_DATA=1}, failed, with the same one-line reason.
     */
    public static Path require(String relative) {
        Path file = dir().resolve(relative);
        if (!Files.isRegularFile(file)) {
            String reason = "needs ../shared/data (set -Dslanc.data or SLANC_DATA): " + file;
            if (required()) {
                Assertions.fail(reason + " [" + REQUIRE_ENV + "=1]");
            }
            Assumptions.abort(reason);
        }
        return file;
    }

    static boolean required() {
        String v = System.getenv(REQUIRE_ENV);
        return v != null && !v.isBlank() && !v.equals("0");
    }

    public static Path stories260K() {
        return require("stories260K/stories260K.bin");
    }

    public static Path tok512() {
        return require("stories260K/tok512.bin");
    }

    public static Path tinyStoriesVal() {
        return require("text/tinystories-val.txt");
    }
}
