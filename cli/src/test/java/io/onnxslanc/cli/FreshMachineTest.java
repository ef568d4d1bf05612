package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.onnxslanc.samples.data.SampleFetcher;
import io.onnxslanc.samples.data.SampleFile;
import io.onnxslanc.testing.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user with only the repository sees: the demo without any stories260K data runs on MiniLM and checks the
 * stress test's claim; the version is the POM's; fetch-samples fills a folder the demo accepts.
 */
class FreshMachineTest {
    @TempDir
    Path dir;

    @Test
    void demoWithoutStoriesDataRunsOnMiniLm() throws IOException {
        Path none = Files.createDirectories(dir.resolve("no-data"));
        String data = System.getProperty("slanc.data");
        String cache = System.getProperty("slanc.data.cache");
        System.setProperty("slanc.data", none.toString()); // nothing configured, nothing fetched
        System.setProperty("slanc.data.cache", none.toString());
        CliRunner r;
        try {
            r = CliRunner.run("demo", "--out", dir.resolve("out").toString());
        } finally {
            restore("slanc.data", data);
            restore("slanc.data.cache", cache);
        }
        assertEquals(0, r.exitCode(), r.err() + r.out());
        assertTrue(r.out().startsWith("stories260K not found (" + none.resolve("stories260K/stories260K.bin") + ": not found;"),
                r.out());
        assertTrue(r.out().contains("FP32 vs SLaNC + FP16 embedding cosine, worst sentence: 0.99999"), r.out());
        // the stress test's claim, from ONNX Runtime on the FP32 model as reference: naive FP16 norms break at c = 16
        Matcher m = Pattern.compile("c = 16: naive FP16 norms (\\d+) / 13 overflowing, min cos (\\S+); SLaNC 0 / 13, "
                + "min cos (\\S+): SLaNC holds").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Integer.parseInt(m.group(1)) > 0 && Double.parseDouble(m.group(2)) < 0.9, m.group());
        assertTrue(Double.parseDouble(m.group(3)) > 0.999, m.group());

        JsonNode report = new ObjectMapper().readTree(dir.resolve("out/all-minilm-l6-v2.slanc-fp16.json").toFile());
        assertEquals("onnx-slanc", report.get("tool").asText());
        assertEquals(pomVersion(), report.get("version").asText());
        assertEquals("convert/1", report.get("schema").asText());
        assertEquals(13, report.get("norms").size());
        assertTrue(report.get("fp16").get("schema") == null, "one header per file, not per section");
    }

    @Test
    void versionIsThePomVersion() throws IOException {
        CliRunner r = CliRunner.run("--version");
        assertEquals(0, r.exitCode());
        assertEquals("onnx-slanc " + pomVersion(), r.out().strip());
    }

    @Test
    void helpListsEveryExitCode() {
        String help = CliRunner.run("--help").out();
        for (String code : new String[] {"0   ok", "1   error", "2   usage error", "3   a verdict failed"}) {
            assertTrue(help.contains(code), help);
        }
    }

    @Test
    void fetchSamplesFromAMirrorFillsAFolderTheDemoAccepts() throws IOException {
        Path shared = SharedData.stories260K().getParent().getParent();
        Path target = dir.resolve("fetched");
        CliRunner r = CliRunner.run("fetch-samples", "--dir", target.toString(), "--mirror", shared.toUri().toString());
        assertEquals(0, r.exitCode(), r.err());
        for (SampleFile f : SampleFile.STORIES260K) {
            assertEquals(f.sha256(), SampleFetcher.sha256(target.resolve(f.relative())));
        }
        assertTrue(r.out().contains("run the demo with --data " + target), r.out());
        CliRunner bad = CliRunner.run("demo", "--data", dir.resolve("empty").toString(), "--out", dir.resolve("o").toString());
        assertEquals(1, bad.exitCode());
        assertEquals("error: " + dir.resolve("empty/stories260K/stories260K.bin") + ": sample data not found (--data names "
                + "a folder without it; fetch-samples --dir " + dir.resolve("empty") + " downloads it)", bad.err().strip());
    }

    /** The parent POM's own version, read from the file (the thing --version must agree with). */
    private static String pomVersion() throws IOException {
        String pom = Files.readString(Path.of("..", "pom.xml"));
        Matcher m = Pattern.compile("<artifactId>onnx-slanc-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find());
        return m.group(1);
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
