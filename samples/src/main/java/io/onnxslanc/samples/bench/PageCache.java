package io.onnxslanc.samples.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Empties the Linux page cache between benchmark rows (sync, then drop_caches), so a row does not read weights an
 * earlier row left in memory. Needs root; elsewhere it does nothing and says why.
 */
final class PageCache {
    private static final Path DROP = Path.of("/proc/sys/vm/drop_caches");

    private PageCache() {
    }

    /** True when the cache was dropped. */
    static boolean drop() {
        try {
            Process sync = new ProcessBuilder("sync").inheritIO().start();
            if (sync.waitFor() != 0) {
                return false;
            }
            Files.writeString(DROP, "3\n");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static String whyNot() {
        return "could not drop it (" + DROP + " needs root on Linux): rows may read what earlier rows cached";
    }
}
