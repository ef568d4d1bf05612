package io.onnxslanc.check.perplexity;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds the feeds of a causal LM for one window from the model's input metadata: {@code input_ids}, and when the
 * model has them {@code attention_mask} (ones), {@code position_ids} / {@code cache_position} (0..n-1),
 * {@code use_cache_branch} (false) and past key/value inputs fed empty (their past-length dimension set to 0).
 */
final class CausalLmInputs {
    static final String INPUT_IDS = "input_ids";

    private enum Kind { INPUT_IDS, ATTENTION_MASK, POSITION_IDS, CACHE_POSITION, USE_CACHE_BRANCH, EMPTY_PAST }

    private record Feed(String name, Kind kind, OnnxJavaType type, long[] shape) {
    }

    private final List<Feed> feeds = new ArrayList<>();

    CausalLmInputs(Map<String, NodeInfo> inputs, String model) {
        if (!inputs.containsKey(INPUT_IDS)) {
            throw new IllegalArgumentException(model + ": has no input named 'input_ids' (inputs: "
                    + String.join(", ", inputs.keySet()) + "); not a causal language model this tool can feed");
        }
        for (Map.Entry<String, NodeInfo> e : inputs.entrySet()) {
            feeds.add(classify(e.getKey(), e.getValue(), model));
        }
    }

    private static Feed classify(String name, NodeInfo node, String model) {
        if (!(node.getInfo() instanceof TensorInfo info)) {
            throw cannotFeed(model, name, node.getInfo().toString());
        }
        String lower = name.toLowerCase(Locale.ROOT);
        switch (name) {
            case INPUT_IDS:
                return integer(name, Kind.INPUT_IDS, info, 2, model);
            case "attention_mask":
                return integer(name, Kind.ATTENTION_MASK, info, 2, model);
            case "position_ids":
                return integer(name, Kind.POSITION_IDS, info, 2, model);
            case "cache_position":
                return integer(name, Kind.CACHE_POSITION, info, 1, model);
            case "use_cache_branch":
                if (info.type == OnnxJavaType.BOOL) {
                    return new Feed(name, Kind.USE_CACHE_BRANCH, info.type, new long[] {1});
                }
                throw cannotFeed(model, name, describe(info));
            default:
                break;
        }
        if ((lower.contains("past") || lower.contains("cache")) && isFloatingPoint(info.type)) {
            return new Feed(name, Kind.EMPTY_PAST, info.type, emptyPastShape(name, info, model));
        }
        throw cannotFeed(model, name, describe(info));
    }

    private static Feed integer(String name, Kind kind, TensorInfo info, int rank, String model) {
        if ((info.type != OnnxJavaType.INT64 && info.type != OnnxJavaType.INT32) || info.getShape().length != rank) {
            throw new IllegalArgumentException(String.format("%s: input '%s' is %s; expected int64 or int32 of rank %d",
                    model, name, describe(info), rank));
        }
        return new Feed(name, kind, info.type, null);
    }

    private static boolean isFloatingPoint(OnnxJavaType type) {
        return type == OnnxJavaType.FLOAT || type == OnnxJavaType.FLOAT16 || type == OnnxJavaType.BFLOAT16
                || type == OnnxJavaType.DOUBLE;
    }

    /** Fixed dims as declared; a symbolic batch dim becomes 1, a symbolic past/sequence length 0. */
    private static long[] emptyPastShape(String name, TensorInfo info, String model) {
        long[] declared = info.getShape();
        String[] dimNames = info.getDimensionNames();
        long[] shape = new long[declared.length];
        boolean hasZero = false;
        for (int i = 0; i < declared.length; i++) {
            String dim = dimNames != null && i < dimNames.length && dimNames[i] != null
                    ? dimNames[i].toLowerCase(Locale.ROOT) : "";
            if (declared[i] >= 0) {
                shape[i] = declared[i];
            } else if (dim.contains("batch")) {
                shape[i] = 1;
            } else if (dim.contains("past") || dim.contains("seq") || dim.contains("len")
                    || dim.contains("total")) {
                shape[i] = 0;
            } else {
                throw new IllegalArgumentException(String.format("%s: cannot tell the size of dimension %d ('%s') of"
                        + " past key/value input '%s' %s; expected a batch dimension and a past sequence length",
                        model, i, dim, name, describe(info)));
            }
            hasZero |= shape[i] == 0;
        }
        if (!hasZero) {
            throw new IllegalArgumentException(String.format("%s: past key/value input '%s' %s has no past"
                    + " sequence length dimension that could be set to 0", model, name, describe(info)));
        }
        return shape;
    }

    private static IllegalArgumentException cannotFeed(String model, String name, String what) {
        return new IllegalArgumentException(String.format("%s: cannot feed model input '%s' (%s); the perplexity tool"
                + " feeds only input_ids, attention_mask, position_ids, cache_position, use_cache_branch and empty"
                + " past key/value inputs", model, name, what));
    }

    static String describe(TensorInfo info) {
        String[] names = info.getDimensionNames();
        long[] shape = info.getShape();
        StringBuilder s = new StringBuilder(info.type.toString()).append(" [");
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : ", ");
            s.append(shape[i] >= 0 ? Long.toString(shape[i])
                    : names != null && i < names.length && !names[i].isEmpty() ? names[i] : "?");
        }
        return s.append(']').toString();
    }

    /** Feeds for one window whose input ids are {@code ids}, with an empty past; the caller closes the tensors. */
    Map<String, OnnxTensor> create(OrtEnvironment env, long[] ids) throws OrtException {
        return create(env, ids, 0, Map.of());
    }

    /**
     * Feeds for {@code ids} at positions {@code past .. past + n - 1}: the mask covers past and new tokens,
     * {@code use_cache_branch} is true when there is a past, and the past inputs are taken from {@code pastValues}
     * (the previous step's present outputs; not copied, not closed here) or fed empty. The caller closes the tensors
     * this made ({@link #closeCreated}).
     */
    Map<String, OnnxTensor> create(OrtEnvironment env, long[] ids, int past, Map<String, OnnxTensor> pastValues)
            throws OrtException {
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        try {
            int n = ids.length;
            long[] positions = new long[n];
            Arrays.setAll(positions, i -> past + i);
            long[] ones = new long[past + n];
            Arrays.fill(ones, 1);
            for (Feed f : feeds) {
                OnnxTensor given = f.kind == Kind.EMPTY_PAST ? pastValues.get(f.name) : null;
                if (f.kind == Kind.EMPTY_PAST && given == null && past > 0) {
                    throw new IllegalStateException("no past value for input '" + f.name + "' at step " + past);
                }
                OnnxTensor t = switch (f.kind) {
                    case INPUT_IDS -> integers(env, ids, new long[] {1, n}, f.type);
                    case ATTENTION_MASK -> integers(env, ones, new long[] {1, past + n}, f.type);
                    case POSITION_IDS -> integers(env, positions, new long[] {1, n}, f.type);
                    case CACHE_POSITION -> integers(env, positions, new long[] {n}, f.type);
                    case USE_CACHE_BRANCH -> OnnxTensor.createTensor(env, new boolean[] {past > 0});
                    case EMPTY_PAST -> given != null ? given
                            : OnnxTensor.createTensor(env, ByteBuffer.allocateDirect(0), f.shape, f.type);
                };
                out.put(f.name, t);
            }
            return out;
        } catch (OrtException | RuntimeException e) {
            closeCreated(out, pastValues);
            throw e;
        }
    }

    /** Closes the feeds this class made, not the past values it was handed. */
    static void closeCreated(Map<String, OnnxTensor> feeds, Map<String, OnnxTensor> pastValues) {
        for (Map.Entry<String, OnnxTensor> e : feeds.entrySet()) {
            if (pastValues.get(e.getKey()) != e.getValue()) {
                e.getValue().close();
            }
        }
    }

    /** The past key/value inputs, in the model's order. */
    List<String> pastInputs() {
        return feeds.stream().filter(f -> f.kind == Kind.EMPTY_PAST).map(Feed::name).toList();
    }

    private static OnnxTensor integers(OrtEnvironment env, long[] values, long[] shape, OnnxJavaType type)
            throws OrtException {
        if (type == OnnxJavaType.INT64) {
            ByteBuffer b = ByteBuffer.allocateDirect(values.length * 8).order(ByteOrder.nativeOrder());
            b.asLongBuffer().put(values);
            return OnnxTensor.createTensor(env, b.asLongBuffer(), shape);
        }
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
        for (long v : values) {
            b.putInt(Math.toIntExact(v));
        }
        b.flip();
        return OnnxTensor.createTensor(env, b.asIntBuffer(), shape);
    }
}
