package io.onnxslanc.samples.data;

import io.onnxslanc.io.TempFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * Downloads sample files into a data folder and accepts each only with its pinned size and sha256. A whole-file
 * download goes to {@code FILE.part} first and is resumed from there (an HTTP range request) after an interrupted
 * run; a file that is already present with the right sum is not fetched again.
 */
public final class SampleFetcher {
    private final Path dir;
    private final Consumer<String> log;
    private final int timeoutMs;

    public SampleFetcher(Path dir, Consumer<String> log) {
        this(dir, log, 30_000);
    }

    /** {@code timeoutMs}: connecting, and waiting for the next bytes, before the download counts as interrupted. */
    public SampleFetcher(Path dir, Consumer<String> log, int timeoutMs) {
        this.dir = dir;
        this.log = log;
        this.timeoutMs = timeoutMs;
    }

    /** Fetches every file; stops at the first failure with an IOException naming the file or URL and the problem. */
    public void fetchAll(List<SampleFile> files) throws IOException {
        for (SampleFile f : files) {
            fetch(f);
        }
    }

    /** The file in place, verified; returns its path. */
    public Path fetch(SampleFile f) throws IOException {
        Path target = dir.resolve(f.relative());
        if (Files.isRegularFile(target)) {
            if (Files.size(target) == f.size() && sha256(target).equals(f.sha256())) {
                log.accept("ok       " + target + " (sha256 verified)");
                return target;
            }
            throw new IOException(target + ": present but not the pinned file (size or sha256 differ); "
                    + "delete it to fetch it again");
        }
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        if (f.excerpt()) {
            fetchExcerpt(f, part);
        } else {
            fetchWhole(f, part);
        }
        String sum = sha256(part);
        if (Files.size(part) != f.size() || !sum.equals(f.sha256())) {
            long got = Files.size(part);
            Files.delete(part);
            throw new IOException(f.url() + ": got " + got + " bytes with sha256 " + sum + ", expected " + f.size()
                    + " bytes with sha256 " + f.sha256() + "; the download was deleted");
        }
        TempFiles.moveIntoPlace(part, target);
        log.accept("fetched  " + target + " (" + f.size() + " bytes, sha256 verified)");
        return target;
    }

    private void fetchWhole(SampleFile f, Path part) throws IOException {
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        if (have > f.size()) {
            Files.delete(part);
            have = 0;
        }
        if (have == f.size()) {
            return; // complete from an earlier run; the sum decides
        }
        URLConnection c = open(f, have);
        boolean resumed = false;
        if (c instanceof HttpURLConnection http) {
            int code = http.getResponseCode();
            resumed = code == HttpURLConnection.HTTP_PARTIAL;
            if (code != HttpURLConnection.HTTP_OK && !resumed) {
                http.disconnect();
                throw new IOException(f.url() + ": HTTP " + code + (have > 0 ? " (" + have + " bytes kept in " + part
                        + ", resumed on the next run)" : ""));
            }
        }
        if (have > 0) {
            log.accept(resumed ? "resume   " + f.url() + " from byte " + have : "restart  " + f.url() + " (no range support)");
        } else {
            log.accept("download " + f.url());
        }
        try (InputStream in = c.getInputStream();
             OutputStream out = resumed ? Files.newOutputStream(part, StandardOpenOption.APPEND)
                     : Files.newOutputStream(part)) {
            in.transferTo(out);
        } catch (IOException e) {
            throw new IOException(f.url() + ": " + e.getMessage() + " (" + (Files.exists(part) ? Files.size(part) : 0)
                    + " bytes kept in " + part + ", resumed on the next run)", e);
        }
    }

    private void fetchExcerpt(SampleFile f, Path part) throws IOException {
        log.accept("download " + f.url() + " (the first " + f.size() + " bytes of its stories)");
        URLConnection c = open(f, 0);
        if (c instanceof HttpURLConnection http && http.getResponseCode() != HttpURLConnection.HTTP_OK) {
            int code = http.getResponseCode();
            http.disconnect();
            throw new IOException(f.url() + ": HTTP " + code);
        }
        try (InputStream in = c.getInputStream(); OutputStream out = Files.newOutputStream(part)) {
            StoriesExcerpt.convert(in, f.size(), out);
        } catch (IOException e) {
            Files.deleteIfExists(part);
            throw new IOException(f.url() + ": " + e.getMessage(), e);
        }
    }

    private URLConnection open(SampleFile f, long from) throws IOException {
        URLConnection c = f.url().toURL().openConnection();
        c.setConnectTimeout(timeoutMs);
        c.setReadTimeout(timeoutMs);
        if (from > 0) {
            c.setRequestProperty("Range", "bytes=" + from + "-");
        }
        return c;
    }

    /** Lower-case hex sha256 of a file. */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
