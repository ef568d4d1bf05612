package io.onnxslanc.samples;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the read-only test data lives (stories260K, texts): the system property {@code slanc.data},
 * else the environment variable {@code SLANC_DATA}, else {@code ../shared/data} seen from the working
 * directory, the jar's folder, or any folder above them.
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
        for (Path start : new Path[] {Path.of("").toAbsolutePath(), codeLocation()}) {
            for (Path base = start; base != null; base = base.getParent()) {
                Path candidate = base.resolve("../shared/data").normalize();
                if (Files.isDirectory(candidate)) {
                    return candidate;
                }
            }
        }
        return Path.of("../shared/data");
    }

    /** Where this class was loaded from (the jar in cli/target, or a classes folder), so the jar works from any folder. */
    private static Path codeLocation() {
        try {
            return Path.of(DataDir.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
        } catch (Exception e) {
            return null;
        }
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
