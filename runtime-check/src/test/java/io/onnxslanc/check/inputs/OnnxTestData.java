package io.onnxslanc.check.inputs;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * ONNX's own conformance test data (Debian package libonnx-testdata: model.onnx + test_data_set_0/input_N.pb,
 * output_N.pb per node test), from system property onnx.testdata or /usr/share/libonnx-testdata/data.
 */
public final class OnnxTestData {
    private OnnxTestData() {
    }

    public static Path root() {
        String p = System.getProperty("onnx.testdata");
        Path root = Path.of(p != null && !p.isBlank() ? p : "/usr/share/libonnx-testdata/data");
        assumeTrue(Files.isDirectory(root.resolve("node")), root + " not found: install libonnx-testdata (CI does)");
        return root;
    }

    public static Path nodeTest(String name) {
        return root().resolve("node").resolve(name);
    }
}
