package io.onnxslanc.samples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where the read-only sample data lives (stories260K, texts): the system property {@code slanc.data},
 * else the environment variable {@code SLANC_DATA}, else {@code ../shared/data} seen from the working
 * directory, the jar's folder, or any folder above them; for the demo also the cache folder that
 * {@code fetch-samples} fills ({@link #cacheDir()}).
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

    /** The three files the stories260K demo reads, relative to a data folder. */
    public static final List<String> STORIES_FILES =
            List.of("stories260K/stories260K.bin", "stories260K/tok512.bin", "text/tinystories-val.txt");

    /**
     * Where {@code fetch-samples} puts the files: -Dslanc.data.cache, else $XDG_CACHE_HOME/onnx-slanc/data, else
     * ~/.cache/onnx-slanc/data.
     */
    public static Path cacheDir() {
        String configured = System.getProperty("slanc.data.cache");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("onnx-slanc").resolve("data");
    }

    /**
     * The first folder holding all of {@link #STORIES_FILES}: the configured one ({@link #root()}), then the
     * cache. {@code looked} receives one line per folder that was tried and lacked a file.
     */
    public static Optional<Path> findStories(List<String> looked) {
        List<Path> candidates = new ArrayList<>(List.of(root(), cacheDir()));
        for (Path dir : candidates) {
            Optional<String> missing = STORIES_FILES.stream().filter(f -> !Files.isRegularFile(dir.resolve(f))).findFirst();
            if (missing.isEmpty()) {
                return Optional.of(dir);
            }
            looked.add(dir.resolve(missing.get()) + ": not found");
        }
        return Optional.empty();
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
