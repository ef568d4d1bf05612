package io.onnxslanc.calibrate;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;

/** Reads the data of constant values, whether initializers or outputs of Constant nodes. */
public final class ConstantValues {
    private ConstantValues() {
    }

    /** The constant data behind a value: an initializer or a Constant node's output; null otherwise. */
    public static Tensor tensor(Value v) {
        if (v == null) {
            return null;
        }
        if (v.isInitializer()) {
            return v.constant();
        }
        Node p = v.producer();
        if (p == null || !p.is("Constant")) {
            return null;
        }
        for (Attribute a : p.attributes().values()) {
            switch (a.name()) {
                case "value":
                    return a.tensorValue();
                case "value_float":
                    return ArrayTensor.scalarFloat(a.floatValue());
                case "value_floats":
                    float[] f = (float[]) a.value();
                    return ArrayTensor.ofFloats(new long[] {f.length}, f);
                case "value_int":
                    return ArrayTensor.ofLongs(new long[0], a.intValue());
                case "value_ints":
                    long[] l = a.intsValue();
                    return ArrayTensor.ofLongs(new long[] {l.length}, l);
                default:
                    break;
            }
        }
        return null;
    }
}
