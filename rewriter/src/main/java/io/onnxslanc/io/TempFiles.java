package io.onnxslanc.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * Hidden temp files next to the file they will become, so that a finished write is one rename and a failed one
 * leaves nothing under the real name. Not {@link Files#createTempFile}: its owner-only permissions would stay on
 * the renamed model; these get the usual umask permissions, like any file the user creates.
 */
public final class TempFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private TempFiles() {
    }

    /** A new empty file ".NAME.RANDOM.tmp" in {@code target}'s folder (which must exist). */
    public static Path beside(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 10) {
                    throw e;
                }
            }
        }
    }
}
