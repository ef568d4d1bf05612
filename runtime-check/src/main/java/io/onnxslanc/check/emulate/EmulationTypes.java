package io.onnxslanc.check.emulate;

import io.onnxslanc.check.model.OrtTensorType;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.ElementTypes;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Value;

import java.util.Map;

/**
 * The element type of every value the emulation may round, in every scope. Main-graph values take ONNX Runtime's own
 * inference first (exact, contrib ops included); ORT reports nothing inside If/Loop/Scan bodies, so body values (and
 * anything ORT left out) take the rewriter's one element-type inference, {@link ElementTypes}. Unknown stays null,
 * which the emulation reads as "not float32" and leaves alone: a round trip on an integer or bool tensor would make
 * the model invalid.
 */
final class EmulationTypes {
    private final ElementTypes inferred;
    private final Map<String, OrtTensorType> ortMain;
    private final Graph main;

    private EmulationTypes(Graph main, Map<String, OrtTensorType> ortMain) {
        this.main = main;
        this.ortMain = ortMain;
        this.inferred = ElementTypes.infer(main);
    }

    /** {@code ortMain}: ORT's inferred types of the main graph's values by name (OrtTypeInference). */
    static EmulationTypes infer(Graph main, Map<String, OrtTensorType> ortMain) {
        return new EmulationTypes(main, ortMain);
    }

    DataType of(Value v) {
        if (v == null) return null;
        if (v.graph() == main) {
            OrtTensorType t = ortMain.get(v.name());
            if (t != null && DataType.isKnownCode(t.elemType())) return DataType.fromCode(t.elemType());
        }
        return inferred.of(v);
    }

    boolean isFloat(Value v) {
        return of(v) == DataType.FLOAT;
    }

    /** A value added after inference (an emulation's own node output) gets its type here. */
    void set(Value v, DataType t) {
        inferred.set(v, t);
    }
}
