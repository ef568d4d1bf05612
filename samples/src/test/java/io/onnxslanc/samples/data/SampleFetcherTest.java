package io.onnxslanc.samples.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.onnxslanc.testing.SharedData;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fetch-samples against a local HTTP server holding the shared data folder (the machine that runs the tests has no
 * internet): the pinned sums are those of the shared files, so a fetch must reproduce them byte for byte.
 */
class SampleFetcherTest {
    @TempDir
    Path dir;

    private HttpServer server;
    /** path -> bytes served there */
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    /** paths whose connection is cut after this many bytes (once) */
    private final Map<String, Integer> cutAfter = new ConcurrentHashMap<>();
    private final List<String> ranges = new ArrayList<>();
    private final List<String> log = new ArrayList<>();

    @BeforeEach
    void serve() throws IOException {
        for (SampleFile f : SampleFile.STORIES260K) {
            files.put("/data/" + f.relative(), Files.readAllBytes(SharedData.require(f.relative())));
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        if (server != null) { // null when the shared data is absent and the test was skipped before serving
            server.stop(0);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        byte[] body = files.get(ex.getRequestURI().getPath());
        if (body == null) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        int from = 0;
        if (range != null) {
            synchronized (ranges) {
                ranges.add(range);
            }
            from = Integer.parseInt(range.substring("bytes=".length(), range.indexOf('-')));
        }
        ex.sendResponseHeaders(range != null ? 206 : 200, body.length - from);
        Integer cut = cutAfter.remove(ex.getRequestURI().getPath());
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body, from, cut != null ? cut : body.length - from);
        } catch (IOException e) {
            // the client hung up
        }
        ex.close(); // a cut leaves the response short of its Content-Length: the client sees a broken download
    }

    private URI base() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/data/");
    }

    private SampleFetcher fetcher() {
        return new SampleFetcher(dir, log::add, 2_000); // a cut connection stalls: 2 s until it counts as interrupted
    }

    @Test
    void mirrorFetchReproducesThePinnedFiles() throws IOException {
        fetcher().fetchAll(SampleFile.mirroredAt(base()));
        for (SampleFile f : SampleFile.STORIES260K) {
            assertArrayEquals(Files.readAllBytes(SharedData.require(f.relative())), Files.readAllBytes(dir.resolve(f.relative())));
            assertFalse(Files.exists(dir.resolve(f.relative() + ".part")));
        }
        log.clear();
        fetcher().fetchAll(SampleFile.mirroredAt(base())); // present and verified: nothing fetched again
        assertTrue(log.stream().allMatch(l -> l.startsWith("ok ")), log.toString());
    }

    @Test
    void anInterruptedDownloadIsKeptAndResumed() throws IOException {
        SampleFile ckpt = SampleFile.mirroredAt(base()).get(0);
        cutAfter.put("/data/" + ckpt.relative(), 400_000);
        IOException e = assertThrows(IOException.class, () -> fetcher().fetch(ckpt));
        Path part = dir.resolve(ckpt.relative() + ".part");
        assertTrue(e.getMessage().startsWith(ckpt.url().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("bytes kept in " + part + ", resumed on the next run"), e.getMessage());
        long kept = Files.size(part);
        assertTrue(kept > 0 && kept < ckpt.size(), "kept " + kept);
        assertFalse(Files.exists(dir.resolve(ckpt.relative())), "nothing unverified in place");

        fetcher().fetch(ckpt);
        assertEquals(List.of("bytes=" + kept + "-"), ranges);
        assertTrue(log.contains("resume   " + ckpt.url() + " from byte " + kept), log.toString());
        assertEquals(ckpt.sha256(), SampleFetcher.sha256(dir.resolve(ckpt.relative())));
        assertFalse(Files.exists(part));
    }

    @Test
    void wrongBytesAreRejectedAndDeleted() throws IOException {
        SampleFile tok = SampleFile.mirroredAt(base()).get(1);
        byte[] bad = files.get("/data/" + tok.relative()).clone();
        bad[100] ^= 1;
        files.put("/data/" + tok.relative(), bad);
        IOException e = assertThrows(IOException.class, () -> fetcher().fetch(tok));
        assertTrue(e.getMessage().startsWith(tok.url() + ": got 6227 bytes with sha256 "), e.getMessage());
        assertTrue(e.getMessage().endsWith("expected 6227 bytes with sha256 " + tok.sha256() + "; the download was deleted"),
                e.getMessage());
        assertFalse(Files.exists(dir.resolve(tok.relative())));
        assertFalse(Files.exists(dir.resolve(tok.relative() + ".part")));
    }

    @Test
    void missingFileAndForeignFileInPlaceAreOneLineErrors() throws IOException {
        SampleFile tok = SampleFile.mirroredAt(URI.create(base() + "nowhere/")).get(1);
        IOException e = assertThrows(IOException.class, () -> fetcher().fetch(tok));
        assertEquals(tok.url() + ": HTTP 404", e.getMessage());

        Path target = dir.resolve(tok.relative());
        Files.createDirectories(target.getParent());
        Files.writeString(target, "not a tokenizer");
        e = assertThrows(IOException.class, () -> fetcher().fetch(SampleFile.mirroredAt(base()).get(1)));
        assertEquals(target + ": present but not the pinned file (size or sha256 differ); delete it to fetch it again",
                e.getMessage());
    }

    @Test
    void theExcerptIsCutFromTheRawStoriesLayout() throws IOException {
        // the raw layout: the excerpt's stories separated by <|endoftext|> lines (here after every paragraph that
        // starts "Once upon a time", a real story start), a space in front, more stories after its end
        String excerpt = Files.readString(SharedData.tinyStoriesVal(), StandardCharsets.UTF_8);
        String raw = " " + excerpt.replace("\n\nOnce upon a time", "\n<|endoftext|>\nOnce upon a time")
                + "<|endoftext|>\nA story beyond the excerpt.\n<|endoftext|>\n";
        files.put("/raw/TinyStories-valid.txt", raw.getBytes(StandardCharsets.UTF_8));
        SampleFile pinned = SampleFile.STORIES260K.get(2);
        SampleFile local = new SampleFile(pinned.relative(),
                URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/raw/TinyStories-valid.txt"),
                pinned.sha256(), pinned.size(), true);
        fetcher().fetch(local);
        assertArrayEquals(excerpt.getBytes(StandardCharsets.UTF_8), Files.readAllBytes(dir.resolve(pinned.relative())));
        assertTrue(Arrays.asList(raw.split("<\\|endoftext\\|>")).size() > 100, "the raw text really has many stories");
    }
}
