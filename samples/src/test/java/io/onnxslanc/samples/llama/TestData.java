package io.onnxslanc.samples.llama;

import io.onnxslanc.testing.SharedData;
import java.nio.file.Path;

/** The read-only shared test data, through the one rule for it: {@link SharedData} (skipped with a reason when absent). */
final class TestData {
    private TestData() {}

    static Path stories260K() {
        return SharedData.stories260K();
    }

    static Path tok512() {
        return SharedData.tok512();
    }

    static Path tinyStoriesVal() {
        return SharedData.tinyStoriesVal();
    }
}
