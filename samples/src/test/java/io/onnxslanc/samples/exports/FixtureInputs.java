package io.onnxslanc.samples.exports;

import com.fasterxml.jackson.databind.JsonNode;
import io.onnxslanc.check.model.TensorData;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Seeded inputs for a fixture from its {@code inputs} description: token ids uniform in [0, high), all-ones or
 * all-zeros integer tensors (masks, token types), standard normal floats (encoder memory, past keys / values).
 * The shapes are consistent by construction (a KV-cache mask spans past + new tokens); boolean inputs (a merged
 * decoder's use_cache_branch) are written as ones / zeros.
 */
final class FixtureInputs {
    private FixtureInputs() {
    }

    /** One feed per input set: {@code inputs}, then each of {@code more_inputs} (e.g. a merged decoder's branches). */
    static List<Map<String, TensorData>> sets(ExportFixture fixture, long seed) {
        List<Map<String, TensorData>> sets = new ArrayList<>();
        Random random = new Random(seed);
        sets.add(of(fixture, fixture.expected().get("inputs"), random));
        JsonNode more = fixture.expected().get("more_inputs");
        if (more != null) {
            for (JsonNode spec : more) {
                sets.add(of(fixture, spec, random));
            }
        }
        return sets;
    }

    private static Map<String, TensorData> of(ExportFixture fixture, JsonNode specs, Random random) {
        Map<String, TensorData> feeds = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = specs.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode spec = e.getValue();
            long[] shape = new long[spec.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = spec.get("shape").get(i).asLong();
            }
            int n = (int) TensorData.elementCount(shape);
            String kind = spec.get("kind").asText();
            switch (kind) {
                case "tokens" -> {
                    long[] ids = new long[n];
                    for (int i = 0; i < n; i++) {
                        ids[i] = random.nextInt(spec.get("high").asInt());
                    }
                    feeds.put(e.getKey(), TensorData.ofLongs(shape, ids));
                }
                case "ones", "zeros" -> {
                    long[] v = new long[n];
                    java.util.Arrays.fill(v, kind.equals("ones") ? 1 : 0);
                    feeds.put(e.getKey(), TensorData.ofLongs(shape, v));
                }
                case "normal" -> {
                    float[] v = new float[n];
                    for (int i = 0; i < n; i++) {
                        v[i] = (float) random.nextGaussian();
                    }
                    feeds.put(e.getKey(), TensorData.ofFloats(shape, v));
                }
                default -> throw new IllegalArgumentException(fixture + ": input " + e.getKey() + ": unknown kind " + kind);
            }
        }
        return feeds;
    }
}
