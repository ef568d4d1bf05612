package io.onnxslanc.samples.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link ExperimentTableCheck} on printed tables of a made-up (SYNTHETIC) result: agreement passes, a changed cell
 * is one line naming the table, factor, variant, column and both values; rows at factors not run are unchecked.
 */
class ExperimentTableCheckTest {

    private static ExperimentResult result(List<Double> factors, double pplAt64) {
        List<ExperimentResult.LmRow> lm = new ArrayList<>();
        List<ExperimentResult.EncoderRow> enc = new ArrayList<>();
        for (double c : factors) {
            for (Variant v : Variant.PAPER) {
                double ppl = v == Variant.FP16_STORAGE && c == 64 ? pplAt64 : 3.7107;
                lm.add(new ExperimentResult.LmRow(c, v, ppl, v == Variant.FP32 ? Double.NaN : ppl / 3.7107 - 1, 511, 1,
                        0, 11, List.of(), 11.7 * c, 353, 0));
                enc.add(new ExperimentResult.EncoderRow(c, v, 0.999998, 0.999999, 0, 13, List.of(), 222.5 * c, 491, 1));
            }
        }
        return new ExperimentResult("ONNX Runtime 1.28.0, CPU provider, optimisation level basic", List.of("protocol line"),
                lm, enc, List.of(), List.of("(f) MiniLM, c = 64: rescale x 2^-3"));
    }

    private static String document(String printed) {
        return "# doc\n\n<!-- experiment-table: java -jar onnx-slanc.jar experiment --max-tokens 512 -->\n```\n" + printed
                + "\n```\n\n- (f) MiniLM, c = 64: rescale x 2^-3\n" + ExperimentTableCheck.END + "\nprose\n";
    }

    @Test
    void identicalTablesAgree() {
        String printed = result(List.of(1.0, 64.0), 167.7918).toText();
        ExperimentTableCheck.Block b = ExperimentTableCheck.block(document(printed), "README.md");
        assertEquals(512, b.maxPositions());
        ExperimentTableCheck.Outcome o = ExperimentTableCheck.compare(b.text(), printed);
        assertEquals(List.of(), o.differences());
        assertEquals(20, o.rows());
        assertEquals(20 * 6, o.cells());
        assertEquals(2, o.notes()); // the protocol line and the (f) note, both printed in the block too
        assertTrue(o.passed());
        assertEquals("verdict PASS: README.md: 20 rows (120 cells) and 2 notes agree with the experiment's output",
                o.verdictLine("README.md"));
    }

    @Test
    void aChangedCellIsOneLine() {
        String now = result(List.of(1.0, 64.0), 167.7918).toText();
        assertEquals(1, now.split("167\\.7918", -1).length - 1, now);
        String readme = document(now.replace("167.7918", "167.8024"));
        ExperimentTableCheck.Outcome o = ExperimentTableCheck.compare(ExperimentTableCheck.block(readme, "R").text(), now);
        assertEquals(List.of("stories260K c = 64 (b) FP16 storage, ppl: README 167.8024, experiment 167.7918"),
                o.differences());
        assertFalse(o.passed());
        assertEquals("verdict FAIL: R: 1 difference(s) from the experiment's output", o.verdictLine("R"));
    }

    @Test
    void aChangedNoteOrRuntimeLineIsReported() {
        String now = result(List.of(64.0), 1.0).toText();
        String readme = document(now).replace("2^-3", "2^-9").replace("1.28.0", "1.27.0");
        ExperimentTableCheck.Outcome o = ExperimentTableCheck.compare(ExperimentTableCheck.block(readme, "R").text(),
                now.replace("\n\nProtocol", "\n\nNotes\n- (f) MiniLM, c = 64: rescale x 2^-3\n\nProtocol"));
        assertEquals(2, o.differences().size(), o.differences().toString());
        assertTrue(o.differences().get(0).contains("ONNX Runtime 1.27.0"), o.differences().get(0));
        assertEquals("note '(f) MiniLM, c = 64': README '(f) MiniLM, c = 64: rescale x 2^-9', experiment "
                + "'(f) MiniLM, c = 64: rescale x 2^-3'", o.differences().get(1));
    }

    @Test
    void rowsAtFactorsNotRunAreCountedNotCompared() {
        String readme = document(result(List.of(1.0, 64.0), 167.8024).toText());
        ExperimentTableCheck.Outcome o = ExperimentTableCheck.compare(ExperimentTableCheck.block(readme, "R").text(),
                result(List.of(1.0), 2.0).toText());
        assertTrue(o.passed(), o.differences().toString());
        assertEquals(10, o.rows());
        assertEquals(10, o.uncheckedRows());
        assertTrue(o.verdictLine("R").endsWith("; 10 rows at factors not run here are unchecked"), o.verdictLine("R"));
    }

    @Test
    void aRowMissingAtAFactorThatRanIsADifference() {
        String full = result(List.of(64.0), 1.0).toText();
        String readme = document(full.lines().filter(l -> !l.contains("(e) FP16, norms FP32")).reduce("", (a, b) -> a + b + "\n"));
        ExperimentTableCheck.Outcome o = ExperimentTableCheck.compare(ExperimentTableCheck.block(readme, "R").text(), full);
        assertEquals(List.of("stories260K c = 64 (e) FP16, norms FP32: printed by the experiment, missing from README",
                "all-MiniLM-L6-v2 c = 64 (e) FP16, norms FP32: printed by the experiment, missing from README"),
                o.differences());
    }

    @Test
    void aDocumentWithoutABlockOrWithoutItsSettingIsAnError() {
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> ExperimentTableCheck.block("# nothing here\n", "README.md"));
        assertTrue(none.getMessage().startsWith("README.md: no experiment block"), none.getMessage());
        IllegalArgumentException open = assertThrows(IllegalArgumentException.class,
                () -> ExperimentTableCheck.block("<!-- experiment-table: experiment --max-tokens 512 -->\n", "R"));
        assertTrue(open.getMessage().contains("has no '<!-- /experiment-table -->'"), open.getMessage());
        IllegalArgumentException setting = assertThrows(IllegalArgumentException.class,
                () -> ExperimentTableCheck.block("<!-- experiment-table: experiment -->\n" + ExperimentTableCheck.END, "R"));
        assertTrue(setting.getMessage().contains("does not say its --max-tokens"), setting.getMessage());
    }
}
