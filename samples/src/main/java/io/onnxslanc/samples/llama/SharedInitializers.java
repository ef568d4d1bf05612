package io.onnxslanc.samples.llama;

import io.onnxslanc.proto.Onnx.TensorProto;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An initializer store for graphs built from the same weights: each name is written to the
 * underlying store once, later requests for that name get the same tensor without its values being
 * read again (both decoders of a merged model ask for every weight).
 */
final class SharedInitializers implements InitializerStore {

    private final InitializerStore store;
    private final Map<String, TensorProto> byName = new LinkedHashMap<>();

    SharedInitializers(InitializerStore store) {
        this.store = store;
    }

    @Override
    public TensorProto add(String name, TensorValues values) throws IOException {
        TensorProto known = byName.get(name);
        if (known != null) return known;
        TensorProto t = store.add(name, values);
        byName.put(name, t);
        return t;
    }

    /** Every tensor once, in the order first asked for. */
    List<TensorProto> all() {
        return List.copyOf(byName.values());
    }
}
