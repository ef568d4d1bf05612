package io.onnxslanc.check.perplexity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.check.ep.SessionFactory;
import io.onnxslanc.check.model.ModelSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Perplexity of the torch.onnx-exported KV-cache Llama (fixtures/exports/hf_llama_kv_cache.onnx) and of the same
 * weights as Optimum's merged decoder (hf_llama_merged.onnx, an If on use_cache_branch): whole windows with an empty
 * past, and token by token through the cache, all equal. The whole-window run of the with-past model, which uses no
 * cache at all, is the reference; a cache that dropped or misplaced past keys would change the token-by-token value.
 */
class KvCachePerplexityTest {
    private static final int VOCAB = 96; // the fixtures' vocabulary

    static Path fixture(String name) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("fixtures").resolve("exports").resolve(name);
            if (Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new IllegalStateException("fixtures/exports/" + name + " not found above " + Path.of("").toAbsolutePath());
    }

    private static double ppl(String model, int[] tokens, boolean cache) throws Exception {
        try (Perplexity p = Perplexity.open(ModelSource.file(fixture(model)), SessionFactory.cpu())) {
            // the fixtures' RoPE tables and masks take up to 32 positions
            return p.evaluate(tokens, OptionalInt.empty(), WindowProtocol.nonOverlapping(24),
                    PerplexityOptions.defaults().withKvCache(cache)).perplexity();
        }
    }

    @Test
    void withPastAndMergedDecodersGiveTheSamePerplexityWholeAndTokenByToken() throws Exception {
        Random r = new Random(7);
        int[] tokens = new int[96];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = r.nextInt(VOCAB);
        }
        double reference = ppl("hf_llama_kv_cache.onnx", tokens, false);
        double cached = ppl("hf_llama_kv_cache.onnx", tokens, true);
        double merged = ppl("hf_llama_merged.onnx", tokens, false);
        double mergedCached = ppl("hf_llama_merged.onnx", tokens, true);
        System.out.printf("ppl with-past %.6f, token by token %.6f; merged %.6f, token by token %.6f%n", reference, cached, merged, mergedCached);
        assertTrue(reference > 1 && Double.isFinite(reference), "a perplexity: " + reference); // random weights: above the vocabulary size
        assertEquals(1, cached / reference, 1e-4);
        assertEquals(1, merged / reference, 1e-6);
        assertEquals(1, mergedCached / reference, 1e-4);
    }
}
