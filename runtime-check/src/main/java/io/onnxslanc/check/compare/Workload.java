package io.onnxslanc.check.compare;

import io.onnxslanc.check.model.TensorData;
import io.onnxslanc.check.perplexity.PerplexityOptions;
import io.onnxslanc.check.perplexity.WindowProtocol;
import io.onnxslanc.check.tokenize.TextTokenizer;
import java.util.List;
import java.util.Map;

/** What every combination of a {@link Comparison} runs: perplexity on a text, or parity on the same inputs. */
public sealed interface Workload {

    /** Perplexity of a causal LM on {@code text}, tokenised by {@code tokenizer} (owned by the caller). */
    record PerplexityOf(TextTokenizer tokenizer, String text, WindowProtocol protocol, PerplexityOptions options)
            implements Workload {
    }

    /** Every output against the reference combination's, on these inputs. */
    record ParityOn(List<Map<String, TensorData>> inputs, long vocabSize) implements Workload {
    }
}
