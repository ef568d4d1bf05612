package io.onnxslanc.samples.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The README's experiment block against a fresh run of the experiment's MiniLM rows at c = 16 (MiniLM comes from the
 * local Maven repository, so this runs without the sample data folder): every cell of those rows agrees. The
 * stories260K rows are checked through the command line ({@code ExperimentCheckCommandTest} in cli), which needs the
 * data folder.
 */
class ExperimentReadmeCheckTest {
    static final Path README = Path.of("..", "README.md");

    @Test
    void miniLmRowsOfTheReadmeAreWhatTheExperimentPrints() throws IOException {
        ExperimentTableCheck.Block block = ExperimentTableCheck.block(Files.readString(README), README.toString());
        assertEquals(512, block.maxPositions()); // MiniLM rows do not depend on it; stories260K rows do
        ExperimentResult now = SlancExperiment.runMiniLm(List.of(16.0), line -> { });
        ExperimentTableCheck.Outcome o = ExperimentTableCheck.compare(block.text(), now.toText());
        assertEquals(List.of(), o.differences(), now.toText());
        assertEquals(Variant.PAPER.size(), o.rows(), o.verdictLine(README.toString())); // c = 16: no (f) row
        assertEquals(6 * Variant.PAPER.size(), o.cells());
        assertTrue(o.passed(), o.verdictLine(README.toString()));
    }
}
