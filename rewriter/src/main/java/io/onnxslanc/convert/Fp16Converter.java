package io.onnxslanc.convert;

import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.ElementTypes;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Converts a float32 model to float16 (or bfloat16) in place.
 *
 * <p>Every float32 value gets a final type: the target type, or float32 where a node computes
 * in float32 (block lists, norms with normsFp32, ops whose definition only has float32, integer
 * rescales of quantised matmuls), where an input slot is float32 by definition (Resize scales,
 * GroupNorm gamma/beta), or where a graph input/output keeps its type. Then every edge whose value
 * type differs from what its consumer needs gets a Cast (one per value, graph and type), an
 * initializer needed in both types is split into two initializers over the same source data,
 * and Casts that became identities or redundant pairs are removed. Weights are converted lazily
 * by {@link ConvertedTensor} while the model is written.
 */
public final class Fp16Converter {
    /** Metadata key the converter leaves on a converted model (value: the target type). */
    public static final String MARKER_KEY = "onnx_slanc.fp16";

    private final Model model;
    private final Graph main;
    private final Fp16Options options;
    private final DataType target;
    private final long opset;
    private final ConversionCounter report;
    private ElementTypes types;
    private Fp32Nodes fp32;
    private final Map<Value, DataType> finalTypes = new IdentityHashMap<>();
    private final Map<Graph, Node> owners = new IdentityHashMap<>();
    private final Map<Value, List<DataType>> outputRequirements = new IdentityHashMap<>();
    private final Map<CastKey, Value> casts = new HashMap<>();
    private final Set<Node> insertedCasts = Collections.newSetFromMap(new IdentityHashMap<>());

    /** One shared Cast per value, graph and target type (identity equality on value and graph). */
    private record CastKey(Value value, Graph graph, DataType to) {
    }

    private Fp16Converter(Model model, Fp16Options options) {
        this.model = model;
        this.main = model.graph();
        this.options = options;
        this.target = options.target();
        this.opset = model.opset("");
        this.report = new ConversionCounter(target);
    }

    /**
     * Converts {@code model} in place.
     *
     * @throws IllegalArgumentException when an option names a node or graph input/output the model does not have
     */
    public static ConversionReport convert(Model model, Fp16Options options) {
        return new Fp16Converter(model, options).run().freeze();
    }

    private ConversionCounter run() {
        checkKeepIoNames();
        fp32 = Fp32Nodes.decide(model, options);
        String marker = model.metadata().get(MARKER_KEY);
        if (marker != null) {
            report.markAlreadyConverted("metadata " + MARKER_KEY + "=" + marker);
            return report;
        }
        types = ElementTypes.infer(main);
        if (!types.any(DataType.FLOAT)) {
            if (types.any(DataType.FLOAT16) || types.any(DataType.BFLOAT16)) {
                report.markAlreadyConverted("no float32 tensors, 16-bit float ones present");
            }
            return report;
        }
        indexOwners(main);
        indexOutputRequirements(main);
        reportBlocked();
        decideNodeOutputTypes(main);
        decideGraphInputTypes(main);
        convertInitializers(main);
        convertAttributes(main);
        castEdges(main);
        castGraphOutputs(main);
        applyDeclaredTypes();
        report.castsRemoved = new CastCleanup(this::typeOf, insertedCasts).run(main);
        main.toposort();
        main.verify();
        model.metadata().put(MARKER_KEY, target.name().toLowerCase(Locale.ROOT));
        return report;
    }

    // ---- options ----------------------------------------------------------------------------

    private void checkKeepIoNames() {
        for (String name : options.keepIoNames()) {
            boolean found = main.inputs().stream().anyMatch(v -> v.name().equals(name))
                    || main.outputs().stream().anyMatch(v -> v.name().equals(name));
            if (!found) {
                throw new IllegalArgumentException("keep-io-types names '" + name
                        + "', which is not a graph input or output of the model");
            }
        }
    }

    private void indexOwners(Graph g) {
        for (Node n : g.nodes()) {
            for (Graph sub : n.subgraphs()) {
                owners.put(sub, n);
                indexOwners(sub);
            }
        }
    }

    private void reportBlocked() {
        for (Map.Entry<Node, Fp32Nodes.Reason> e : fp32.blocked().entrySet()) {
            Node n = e.getKey();
            report.addBlocked(n.name().isEmpty() ? n.opType() : n.name(),
                    e.getValue().name().toLowerCase(Locale.ROOT));
        }
    }

    // ---- what each edge needs -----------------------------------------------------------

    /** The type input {@code i} of {@code n} needs, or null when it is not float32 or any type will do. */
    private DataType requiredType(Node n, int i) {
        Value v = n.input(i);
        if (v == null || !types.isFloat32(v)) {
            return null;
        }
        if (fp32.isBlocked(n) || OpRules.float32Input(n, i, opset)) {
            return DataType.FLOAT;
        }
        return OpRules.acceptsAnyType(n, i) ? null : target;
    }

    /** The type graph output {@code index} of {@code g} must have. */
    private DataType requiredOutputType(Graph g, int index) {
        if (g == main) {
            return options.keepsIoType(g.outputs().get(index).name()) ? DataType.FLOAT : target;
        }
        return fp32.isBlocked(owners.get(g)) ? DataType.FLOAT : target;
    }

    /** Types required of {@code v} by its graph-output slots (in any graph). */
    private List<DataType> outputRequirements(Value v) {
        return outputRequirements.getOrDefault(v, List.of());
    }

    private void indexOutputRequirements(Graph g) {
        for (int i = 0; i < g.outputs().size(); i++) {
            outputRequirements.computeIfAbsent(g.outputs().get(i), k -> new ArrayList<>()).add(requiredOutputType(g, i));
        }
        forEachSubgraph(g, this::indexOutputRequirements);
    }

    private boolean anyUseRequires(Value v, DataType t) {
        for (Value.Use u : v.uses()) {
            if (requiredType(u.node(), u.index()) == t) {
                return true;
            }
        }
        return outputRequirements(v).contains(t);
    }

    DataType typeOf(Value v) {
        DataType t = finalTypes.get(v);
        return t != null ? t : types.of(v);
    }

    // ---- final types ------------------------------------------------------------------------

    private void decideNodeOutputTypes(Graph g) {
        for (Node n : new ArrayList<>(g.nodes())) {
            for (int i = 0; i < n.outputs().size(); i++) {
                Value out = n.output(i);
                if (!types.isFloat32(out)) {
                    continue;
                }
                DataType t;
                if (fp32.isBlocked(n) || OpRules.float32Output(n, i)) {
                    t = DataType.FLOAT;
                } else if (n.is("Cast")) {
                    t = anyUseRequires(out, DataType.FLOAT) ? DataType.FLOAT : target;
                    if (t == target) {
                        n.setAttribute(Attribute.ofInt("to", target.code()));
                        report.castsPatched++;
                    }
                } else if (n.is("Constant")) {
                    t = constantOutputType(n, out);
                } else {
                    t = target;
                }
                finalTypes.put(out, t);
            }
            for (Graph sub : n.subgraphs()) {
                decideNodeOutputTypes(sub);
            }
        }
    }

    /**
     * A Constant used only in float32 stays float32; one used both ways gets a float32 twin for
     * its float32 uses, so that no value is rounded for a consumer that computes in float32.
     */
    private DataType constantOutputType(Node n, Value out) {
        boolean needsFloat = anyUseRequires(out, DataType.FLOAT);
        boolean needsTarget = anyUseRequires(out, target)
                || out.uses().stream().anyMatch(u -> requiredType(u.node(), u.index()) == null);
        if (!needsFloat) {
            return target;
        }
        if (!needsTarget) {
            return DataType.FLOAT;
        }
        Graph g = n.graph();
        Node twin = g.addNodeBefore(n, "Constant", n.domain(), g.uniqueName(n.name() + "_fp32"), List.of(),
                List.of(g.uniqueName(out.name() + "_fp32")));
        n.attributes().values().forEach(twin::setAttribute);
        Value twinOut = twin.output(0);
        for (Value.Use u : new ArrayList<>(out.uses())) {
            if (requiredType(u.node(), u.index()) == DataType.FLOAT) {
                u.node().setInput(u.index(), twinOut);
            }
        }
        types.set(twinOut, DataType.FLOAT);
        finalTypes.put(twinOut, DataType.FLOAT);
        report.constantNodesSplit++;
        return target;
    }

    private void decideGraphInputTypes(Graph g) {
        for (Value v : g.inputs()) {
            if (types.isFloat32(v) && !v.isInitializer()) {
                boolean keep = g == main ? options.keepsIoType(v.name()) : fp32.isBlocked(owners.get(g));
                finalTypes.put(v, keep ? DataType.FLOAT : target);
            }
        }
        forEachSubgraph(g, this::decideGraphInputTypes);
    }

    // ---- tensors --------------------------------------------------------------------------

    private ConvertedTensor converted(String name, Tensor source) {
        ConvertedTensor t = new ConvertedTensor(source, target, options.clamp());
        report.addConverted(name, t);
        return t;
    }

    /**
     * An initializer takes the type its uses need; when float32 and converted uses meet, both
     * exist as separate initializers over the same source tensor (the converted one lazy).
     */
    private void convertInitializers(Graph g) {
        for (Value v : new ArrayList<>(g.initializers())) {
            if (v.constant().dataType() != DataType.FLOAT) {
                continue;
            }
            List<Value.Use> floatUses = new ArrayList<>();
            List<Value.Use> targetUses = new ArrayList<>();
            for (Value.Use u : v.uses()) {
                DataType req = requiredType(u.node(), u.index());
                if (req == DataType.FLOAT) {
                    floatUses.add(u);
                } else if (req == target) {
                    targetUses.add(u);
                }
            }
            List<DataType> outReq = outputRequirements(v);
            DataType keep;
            if (g == main && v.isGraphInput() && options.keepsIoType(v.name())) {
                keep = DataType.FLOAT;
            } else if (!outReq.isEmpty()) {
                keep = outReq.get(0);
            } else {
                keep = floatUses.isEmpty() ? target : DataType.FLOAT;
            }
            Tensor source = v.constant();
            finalTypes.put(v, keep);
            List<Value.Use> moved = keep == target ? floatUses : targetUses;
            if (keep == target) {
                v.setConstant(converted(v.name(), source));
            } else if (targetUses.isEmpty() && !v.uses().isEmpty()) {
                report.initializersKeptFp32++;
            }
            if (!moved.isEmpty()) {
                DataType other = keep == target ? DataType.FLOAT : target;
                String name = g.uniqueName(v.name() + "_" + suffix(other));
                Value copy = g.addInitializer(name, other == target ? converted(name, source) : source);
                for (Value.Use u : moved) {
                    u.node().setInput(u.index(), copy);
                }
                types.set(copy, DataType.FLOAT);
                finalTypes.put(copy, other);
                report.initializersSplit++;
            }
        }
        forEachSubgraph(g, this::convertInitializers);
    }

    /** Tensor attributes, Constant value_float(s), ConstantOfShape's default value, dtype attributes. */
    private void convertAttributes(Graph g) {
        for (Node n : g.nodes()) {
            if (!fp32.isBlocked(n) && !(n.is("Constant") && finalTypes.get(n.output(0)) != target)) {
                convertTensorAttributes(n);
                patchDtype(n);
            }
            for (Graph sub : n.subgraphs()) {
                convertAttributes(sub);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void convertTensorAttributes(Node n) {
        String where = (n.name().isEmpty() ? n.opType() : n.name()) + "/";
        for (Attribute a : new ArrayList<>(n.attributes().values())) {
            if (a.kind() == Attribute.Kind.TENSOR && a.tensorValue().dataType() == DataType.FLOAT) {
                n.setAttribute(a.withValue(converted(where + a.name(), a.tensorValue())));
            } else if (a.kind() == Attribute.Kind.TENSORS) {
                List<Tensor> list = new ArrayList<>((List<Tensor>) a.value());
                boolean changed = false;
                for (int i = 0; i < list.size(); i++) {
                    if (list.get(i).dataType() == DataType.FLOAT) {
                        list.set(i, converted(where + a.name() + "[" + i + "]", list.get(i)));
                        changed = true;
                    }
                }
                if (changed) {
                    n.setAttribute(a.withValue(List.copyOf(list)));
                }
            }
        }
        if (n.is("Constant")) {
            n.attribute("value_float").ifPresent(a -> replaceConstantValue(n, a, new long[0], a.floatValue()));
            n.attribute("value_floats").ifPresent(a -> {
                float[] f = (float[]) a.value();
                replaceConstantValue(n, a, new long[] {f.length}, f);
            });
        }
        if (n.is("ConstantOfShape") && n.attribute("value").isEmpty() && types.isFloat32(n.output(0))) {
            n.setAttribute(Attribute.ofTensor("value", converted(where + "value", ArrayTensor.ofFloats(new long[] {1}, 0f))));
        }
    }

    private void replaceConstantValue(Node n, Attribute old, long[] dims, float... values) {
        n.removeAttribute(old.name());
        String where = (n.name().isEmpty() ? n.opType() : n.name()) + "/value";
        n.setAttribute(Attribute.ofTensor("value", converted(where, ArrayTensor.ofFloats(dims, values))));
    }

    private void patchDtype(Node n) {
        String attr = OpRules.isDefaultDomain(n) ? OpRules.DTYPE_ATTRIBUTE.get(n.opType()) : null;
        if (attr == null) {
            return;
        }
        boolean isFloat = n.attribute(attr).map(a -> a.intValue() == DataType.FLOAT.code())
                .orElse(OpRules.DTYPE_DEFAULTS_TO_FLOAT.contains(n.opType()));
        if (isFloat) {
            n.setAttribute(Attribute.ofInt(attr, target.code()));
            report.dtypeAttributesPatched++;
        }
    }

    // ---- casts ------------------------------------------------------------------------------

    private void castEdges(Graph g) {
        for (Node n : new ArrayList<>(g.nodes())) {
            if (insertedCasts.contains(n)) {
                continue;
            }
            for (int i = 0; i < n.inputs().size(); i++) {
                DataType req = requiredType(n, i);
                Value v = n.input(i);
                if (req != null && typeOf(v) != req) {
                    n.setInput(i, castOf(v, g, req, n));
                }
            }
            for (Graph sub : n.subgraphs()) {
                castEdges(sub);
            }
        }
    }

    /** The value {@code v} cast to {@code to} inside {@code g}, created before {@code anchor} (or at the end). */
    private Value castOf(Value v, Graph g, DataType to, Node anchor) {
        CastKey key = new CastKey(v, g, to);
        Value existing = casts.get(key);
        if (existing != null) {
            return existing;
        }
        String base = (v.name().isEmpty() ? "value" : v.name()) + "_" + suffix(to);
        Node c = anchor != null
                ? g.addNodeBefore(anchor, "Cast", "", g.uniqueName(base + "_Cast"), List.of(v), List.of(g.uniqueName(base)))
                : g.addNode("Cast", "", g.uniqueName(base + "_Cast"), List.of(v), List.of(g.uniqueName(base)));
        c.setAttribute(Attribute.ofInt("to", to.code()));
        Value out = c.output(0);
        if (v.type() != null) {
            out.setType(v.type().withElemType(to));
        }
        types.set(out, DataType.FLOAT);
        finalTypes.put(out, to);
        insertedCasts.add(c);
        report.castsInserted++;
        casts.put(key, out);
        return out;
    }

    private void castGraphOutputs(Graph g) {
        for (int i = 0; i < g.outputs().size(); i++) {
            Value v = g.outputs().get(i);
            if (!types.isFloat32(v)) {
                continue;
            }
            DataType req = requiredOutputType(g, i);
            if (typeOf(v) == req) {
                continue;
            }
            if (g == main && v.producer() != null && v.graph() == main) {
                g.setOutput(i, castKeepingName(v, req));
            } else {
                g.setOutput(i, castOf(v, g, req, null));
            }
        }
        forEachSubgraph(g, this::castGraphOutputs);
    }

    /** A main-graph output keeps its name: the computed value is renamed and the Cast takes the name. */
    private Value castKeepingName(Value v, DataType to) {
        String name = v.name();
        String internal = name + "_" + suffix(typeOf(v));
        for (int k = 1; main.isNameUsed(internal); k++) {
            internal = name + "_" + suffix(typeOf(v)) + "_" + k;
        }
        v.rename(internal);
        Node c = main.addNode("Cast", "", main.uniqueName(name + "_Cast"), List.of(v), List.of(name));
        c.setAttribute(Attribute.ofInt("to", to.code()));
        Value out = c.output(0);
        if (v.type() != null) {
            out.setType(v.type().withElemType(to));
        }
        out.setDocString(v.docString());
        types.set(out, DataType.FLOAT);
        finalTypes.put(out, to);
        insertedCasts.add(c);
        report.castsInserted++;
        return out;
    }

    private void applyDeclaredTypes() {
        finalTypes.forEach((v, t) -> {
            if (v.type() != null && !v.hasNonTensorType() && v.elemType() != t && !v.isInitializer()) {
                v.setType(v.type().withElemType(t));
                report.valuesRetyped++;
            }
        });
    }

    // ---- helpers --------------------------------------------------------------------------

    private static void forEachSubgraph(Graph g, java.util.function.Consumer<Graph> action) {
        for (Node n : g.nodes()) {
            for (Graph sub : n.subgraphs()) {
                action.accept(sub);
            }
        }
    }

    private static String suffix(DataType t) {
        return switch (t) {
            case FLOAT16 -> "fp16";
            case BFLOAT16 -> "bf16";
            case FLOAT -> "fp32";
            default -> t.name().toLowerCase(Locale.ROOT);
        };
    }
}
