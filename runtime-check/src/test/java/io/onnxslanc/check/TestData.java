package io.onnxslanc.check;

import io.onnxslanc.testing.SharedData;
import java.nio.file.Path;

/** The read-only shared test data, through the one rule for it: {@link SharedData} (skipped with a reason when absent). */
public final class TestData {
    private TestData() {
    }

    public static Path file(String relative) {
        return SharedData.require(relative);
    }
}
