package io.onnxslanc.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Hidden temp files next to the file they will become, so that a finished write is one rename and a failed one
 * leaves nothing under the real name. Not {@link Files#createTempFile}: its owner-only permissions would stay on
 * the renamed model; these get the usual umask permissions, like any file the user creates. Temps still present
 * when the JVM exits (Ctrl-C in the middle of writing a 13 GB data file) are deleted by a shutdown hook.
 */
public final class TempFiles {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TempFiles::deleteLeftovers, "onnx-slanc-temp-cleanup"));
    }

    private TempFiles() {
    }

    /**
     * A new empty file ".NAME.PID-RANDOM.tmp" in {@code target}'s folder (which must exist). The process id lets a
     * later run tell the temps of a killed run (process gone: {@link #cleanStale}) from those of a live one.
     */
    public static Path beside(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "-"
                    + Long.toHexString(RANDOM.nextLong()) + ".tmp");
            try {
                Path created = Files.createFile(tmp);
                LIVE.add(created);
                return created;
            } catch (FileAlreadyExistsException e) {
                if (attempt > 10) {
                    throw e;
                }
            }
        }
    }

    /**
     * Renames {@code tmp} to {@code target}, replacing it: atomically where the file system can (same folder, so
     * it always can on POSIX); it is no longer a temp afterwards.
     */
    public static void moveIntoPlace(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        LIVE.remove(tmp);
    }

    /** Deletes {@code tmp} if it still exists, quietly (the caller is usually failing already). */
    public static void deleteQuietly(Path tmp) {
        if (tmp == null) {
            return;
        }
        try {
            Files.deleteIfExists(tmp);
            LIVE.remove(tmp);
        } catch (IOException ignored) {
            // best effort: a hidden .tmp file
        }
    }

    /** Deletes a temporary folder and everything in it, quietly (a folder left behind is harmless). */
    public static void deleteTreeQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    /**
     * Deletes the temps that runs killed before they could clean up (kill -9, power loss) left beside
     * {@code target}: names this class gives, whose process no longer exists. Temps of live runs are kept.
     */
    public static void cleanStale(Path target) {
        Path dir = target.toAbsolutePath().getParent();
        String prefix = "." + target.getFileName() + ".";
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith(prefix) || !n.endsWith(".tmp")) {
                    continue;
                }
                String id = n.substring(prefix.length(), n.length() - 4);
                int dash = id.indexOf('-');
                if (dash <= 0 || dash > 18 || !id.substring(0, dash).chars().allMatch(Character::isDigit)
                        || !id.substring(dash + 1).matches("[0-9a-f]{1,16}")) {
                    continue;
                }
                long pid = Long.parseLong(id.substring(0, dash));
                if (pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty()
                        && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    deleteQuietly(p);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // best effort: stale temps are hidden files, harmless until the next run
        }
    }

    /** What the shutdown hook runs: deletes every temp not renamed or deleted yet. */
    static void deleteLeftovers() {
        for (Path p : LIVE.toArray(new Path[0])) {
            deleteQuietly(p);
        }
    }

    /** 16 hex digits derived from {@code name} (SHA-256): a stable alternate file name. */
    static String nameDigest(String name) {
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder(16);
            for (int i = 0; i < 8; i++) {
                sb.append(String.format("%02x", h[i]));
            }
            return sb.toString();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }
}
