package io.onnxslanc.check.inputs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.model.RunFailedException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one-line error for generated inputs the reference refuses names the options that choose them. */
class ModelInputsHintTest {
    private static String message(String origin) {
        ModelInputs inputs = new ModelInputs(List.of(), origin, true, Map.of("p", 0L));
        return inputs.referenceFailed("m.onnx", new RunFailedException("m.onnx", "invalid dimensions", null)).getMessage();
    }

    @Test
    void aKvCacheDecoderIsToldAboutThePastLength() {
        String m = message("seeded random inputs (seed 42); KV-cache decoder, past length 0");
        assertTrue(m.contains("--dim SYMBOL=value, the past length with --past-len N, or give real inputs"), m);
    }

    @Test
    void otherModelsAreNot() {
        String m = message("seeded random inputs (seed 42)");
        assertTrue(m.contains("--dim SYMBOL=value, or give real inputs with --inputs DIR"), m);
        assertFalse(m.contains("--past-len"), m);
    }
}
