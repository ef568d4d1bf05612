package io.onnxslanc.samples;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the read-only test data lives (stories260K, texts): the system property {@code slanc.data},
 * else the environment variable {@code SLANC_DATA}, else {@code ../shared/data} from the working
 * directory or from its parent.
 */
public final class DataDir {
    private DataDir() {
    }

    public static Path root() {
        String p = System.getProperty("slanc.data");
        if (p == null || p.isBlank()) {
            p = System.getenv("SLANC_DATA");
        }
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        for (Path base = Path.of("").toAbsolutePath(); base != null; base = base.getParent()) {
            Path candidate = base.resolve("../shared/data").normalize();
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return Path.of("../shared/data");
    }

    public static Path resolve(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            throw new IllegalStateException(p + ": test data not found (set -Dslanc.data=DIR or SLANC_DATA to the shared data folder)");
        }
        return p;
    }

    public static Path stories260K() {
        return resolve("stories260K/stories260K.bin");
    }

    public static Path tok512() {
        return resolve("stories260K/tok512.bin");
    }

    public static Path tinyStoriesVal() {
        return resolve("text/tinystories-val.txt");
    }
}
