package io.onnxslanc.calibrate;

import io.onnxslanc.match.Constants;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Epsilon;
import io.onnxslanc.match.NormKind;
import io.onnxslanc.match.NormSite;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Builds small transformer graphs for tests, keeping the raw float data of every weight so the tests can
 * recompute the SLaNC formulas independently, and builds the NormSites by hand (no matcher involved).
 */
public final class TestGraph {
    public final Model model;
    public final Graph g;
    public final List<NormSite> sites = new ArrayList<>();
    private final Random random;
    private final Map<String, float[]> data = new HashMap<>();
    private int counter;

    public TestGraph(long seed) {
        this.g = new Graph();
        this.model = new Model(8, g);
        model.opsets().put("", 17L);
        model.opsets().put("com.microsoft", 1L);
        this.random = new Random(seed);
    }

    public Value input(String name, DataType t, long... dims) {
        return g.addInput(name, TensorType.of(t, dims));
    }

    /** A random [rows x cols] FLOAT initializer (normal entries times {@code scale}). */
    public Value weight(String name, int rows, int cols, double scale) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (random.nextGaussian() * scale);
        }
        return floats(name, new long[] {rows, cols}, w);
    }

    /** A vector around {@code mean} (gains, biases). */
    public Value vector(String name, int n, double mean, double spread) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (mean + spread * random.nextGaussian());
        }
        return floats(name, new long[] {n}, v);
    }

    public Value floats(String name, long[] dims, float[] values) {
        data.put(name, values.clone());
        return g.addInitializer(name, ArrayTensor.ofFloats(dims, values));
    }

    /** A FLOAT16 initializer holding {@code values}, which must be exactly representable in FP16. */
    public Value halves(String name, long[] dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : values) {
            b.putShort(exactHalf(f));
        }
        b.flip();
        data.put(name, values.clone());
        return g.addInitializer(name, new ArrayTensor(DataType.FLOAT16, dims, b));
    }

    public Value scalar(String name, float v) {
        data.put(name, new float[] {v});
        return g.addInitializer(name, ArrayTensor.scalarFloat(v));
    }

    /** A FLOAT16 weight behind Cast(to=FLOAT): values k/64, exactly representable in FP16. */
    public Value halfWeightBehindCast(String name, int rows, int cols, double scale) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = Math.round(random.nextGaussian() * scale * 64) / 64f;
        }
        Value h = halves(name, new long[] {rows, cols}, w);
        return op("Cast", List.of(h), Attribute.ofInt("to", DataType.FLOAT.code()));
    }

    public Value scalarLong(String name, long v) {
        return g.addInitializer(name, ArrayTensor.ofLongs(new long[0], v));
    }

    public Value longs(String name, long... v) {
        return g.addInitializer(name, ArrayTensor.ofLongs(new long[] {v.length}, v));
    }

    public float[] data(String name) {
        return data.get(name);
    }

    /** A node with one output; returns that output. */
    public Value op(String opType, List<Value> inputs, Attribute... attrs) {
        return node("", opType, inputs, 1, attrs).output(0);
    }

    public Value op(String opType, Value... inputs) {
        return op(opType, List.of(inputs));
    }

    public Node node(String domain, String opType, List<Value> inputs, int outputs, Attribute... attrs) {
        String base = opType.toLowerCase() + "_" + counter++;
        List<String> outs = new ArrayList<>();
        for (int i = 0; i < outputs; i++) {
            outs.add(base + "_out" + i);
        }
        Node n = g.addNode(opType, domain, base, inputs, outs);
        for (Attribute a : attrs) {
            n.setAttribute(a);
        }
        return n;
    }

    public Value matMul(Value x, Value w) {
        return op("MatMul", x, w);
    }

    /** Fused SimplifiedLayerNormalization (RMSNorm) with gain, epsilon as attribute. */
    public NormSite rmsNorm(String name, Value x, Value gamma, float eps, long d) {
        Node n = g.addNode("SimplifiedLayerNormalization", "", name, List.of(x, gamma), List.of(name + "_out"));
        n.setAttribute(Attribute.ofFloat("epsilon", eps));
        n.setAttribute(Attribute.ofInt("axis", -1));
        return add(new NormSite(NormKind.SIMPLIFIED_LAYER_NORMALIZATION, n, x, null, List.of(new Value.Use(n, 0)), gamma, null,
                new Epsilon.InAttribute(n, "epsilon", eps), d, List.of(n), n.output(0)));
    }

    /** Fused LayerNormalization with gain and bias. */
    public NormSite layerNorm(String name, Value x, Value gamma, Value beta, float eps, long d) {
        Node n = g.addNode("LayerNormalization", "", name, List.of(x, gamma, beta), List.of(name + "_out"));
        n.setAttribute(Attribute.ofFloat("epsilon", eps));
        return add(new NormSite(NormKind.LAYER_NORMALIZATION, n, x, null, List.of(new Value.Use(n, 0)), gamma, beta,
                new Epsilon.InAttribute(n, "epsilon", eps), d, List.of(n), n.output(0)));
    }

    /** LayerNorm decomposed the way PyTorch exports it; epsilon is the constant {@code eps}. */
    public NormSite decomposedLayerNorm(String name, Value x, Value gamma, Value beta, Value eps, long d) {
        Node mean = g.addNode("ReduceMean", "", name, List.of(x), List.of(name + "_mean"));
        mean.setAttribute(Attribute.ofInts("axes", -1));
        Node sub = g.addNode("Sub", "", name + "/Sub", List.of(x, mean.output(0)), List.of(name + "_centered"));
        Value two = scalar(name + "/two", 2f);
        Node pow = g.addNode("Pow", "", name + "/Pow", List.of(sub.output(0), two), List.of(name + "_sq"));
        Node var = g.addNode("ReduceMean", "", name + "/ReduceMean_1", List.of(pow.output(0)), List.of(name + "_var"));
        var.setAttribute(Attribute.ofInts("axes", -1));
        Node add = g.addNode("Add", "", name + "/Add", List.of(var.output(0), eps), List.of(name + "_vareps"));
        Node sqrt = g.addNode("Sqrt", "", name + "/Sqrt", List.of(add.output(0)), List.of(name + "_std"));
        Node div = g.addNode("Div", "", name + "/Div", List.of(sub.output(0), sqrt.output(0)), List.of(name + "_norm"));
        Node mul = g.addNode("Mul", "", name + "/Mul", List.of(div.output(0), gamma), List.of(name + "_scaled"));
        Node bias = g.addNode("Add", "", name + "/Add_1", List.of(mul.output(0), beta), List.of(name + "_out"));
        double epsValue = io.onnxslanc.match.Constants.tensor(eps).toDoubles()[0];
        return add(new NormSite(NormKind.DECOMPOSED_LAYER_NORM, mean, x, null,
                List.of(new Value.Use(mean, 0), new Value.Use(sub, 0)), gamma, beta, new Epsilon.InTensor(add, 1, epsValue), d,
                List.of(mean, sub, pow, var, add, sqrt, div, mul, bias), bias.output(0)));
    }

    /** com.microsoft SkipSimplifiedLayerNormalization(input, skip, gamma[, bias]) with the residual-sum output 3. */
    public NormSite skipRmsNorm(String name, Value input, Value skip, Value gamma, Value bias, float eps, long d) {
        List<Value> ins = new ArrayList<>(List.of(input, skip, gamma));
        if (bias != null) {
            ins.add(null);
            ins.add(bias);
        }
        Node n = g.addNode("SkipSimplifiedLayerNormalization", "com.microsoft", name, ins,
                List.of(name + "_out", "", "", name + "_sum"));
        n.setAttribute(Attribute.ofFloat("epsilon", eps));
        return add(new NormSite(NormKind.SKIP_SIMPLIFIED_LAYER_NORMALIZATION, n, input, skip,
                List.of(new Value.Use(n, 0), new Value.Use(n, 1)), gamma, null, new Epsilon.InAttribute(n, "epsilon", eps), d,
                List.of(n), n.output(0)));
    }

    private NormSite add(NormSite s) {
        sites.add(s);
        return s;
    }

    public NormSite site(String name) {
        return sites.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private static short exactHalf(float f) {
        if (f == 0) {
            return 0;
        }
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = bits & 0x7fffff;
        if (exp <= 0 || exp >= 31 || (mant & 0x1fff) != 0) {
            throw new IllegalArgumentException(f + " is not a normal FP16 number");
        }
        return (short) (sign | exp << 10 | mant >>> 13);
    }
}
