package io.onnxslanc.cli;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** ONNX's conformance test data (Debian libonnx-testdata), from -Donnx.testdata or /usr/share/libonnx-testdata/data. */
final class OnnxTestDataDir {
    private OnnxTestDataDir() {
    }

    static Path nodeTest(String name) {
        String p = System.getProperty("onnx.testdata");
        Path root = Path.of(p != null && !p.isBlank() ? p : "/usr/share/libonnx-testdata/data");
        assumeTrue(Files.isDirectory(root.resolve("node")), root + " not found: install libonnx-testdata (CI does)");
        return root.resolve("node").resolve(name);
    }
}
