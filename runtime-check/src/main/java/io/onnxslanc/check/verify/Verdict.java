package io.onnxslanc.check.verify;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.onnxslanc.check.parity.ParityReport;
import java.util.List;

/**
 * The outcome of a {@link Verification}: pass or fail, the one line that says why naming the worst output, the
 * figures per output, the perplexity over the samples (null when the model is not a causal LM fed token ids), the
 * thresholds applied and the parity report they were read from.
 *
 * @param emulation the FP16 emulation the candidate ran under, "none" for a plain run
 */
public record Verdict(boolean passed, String line, String worstOutput, List<OutputVerdict> outputs,
                      PerplexityFigures perplexity, List<String> perplexityFailures, Gates gates, String emulation,
                      ParityReport parity) {
    public Verdict {
        outputs = List.copyOf(outputs);
        perplexityFailures = List.copyOf(perplexityFailures);
    }

    public String toJson() {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the verdict as JSON: " + e.getMessage(), e);
        }
    }
}
