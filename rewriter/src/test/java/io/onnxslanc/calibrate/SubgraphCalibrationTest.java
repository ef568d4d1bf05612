package io.onnxslanc.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.Slanc;
import io.onnxslanc.calibrate.blocks.BlockFinder;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.DataType;
import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.GraphScopes;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Node;
import io.onnxslanc.ir.Tensor;
import io.onnxslanc.ir.TensorType;
import io.onnxslanc.ir.Value;
import io.onnxslanc.match.Constants;
import io.onnxslanc.match.Epsilon;
import io.onnxslanc.match.NormMatcher;
import io.onnxslanc.match.NormSite;
import io.onnxslanc.rewrite.SlancRewrite;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Norms inside subgraphs, on a synthetic model built here in the IR (labelled synthetic: seeded random weights). The
 * main graph embeds the tokens, holds the first norm n0 and a plain MLP block; an If holds the same two-norm decoder
 * tail in both branches (n1 reads the outer residual sum, its block is the main graph's MLP; n2 follows an MLP inside
 * the branch); optionally a Loop body holds n3 on its loop-carried value (no block can be identified) and n4 on the
 * outer residual, and a main-graph norm n5 reads the Loop's output; a variant nests one more If in the then-branch.
 * Every weight, gain, the Pow exponent and one epsilon Constant node live in the main graph and are read by all
 * norms. The reference scales are written out in double by {@link SlancReference}. Last, the real torch-exported
 * merged decoder against the plain export of the same weights.
 */
class SubgraphCalibrationTest {
    private static final int D = 8;
    private static final int FF = 16;
    private static final int VOCAB = 11;
    private static final float EPS = 1e-5f;

    /** The synthetic model and the raw data of its weights. */
    private static final class Synthetic {
        final Graph g = new Graph();
        final Model model = new Model(8, g);
        final Map<String, float[]> data = new HashMap<>();
        final Random random = new Random(18);
        Value two;
        Value eps;
        Graph thenBranch;
        Graph elseBranch;
        Graph loopBody;

        Value weight(String name, int rows, int cols, double scale) {
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (random.nextGaussian() * scale);
            }
            data.put(name, w);
            return g.addInitializer(name, ArrayTensor.ofFloats(new long[] {rows, cols}, w));
        }

        Value gain(String name) {
            float[] v = new float[D];
            for (int i = 0; i < D; i++) {
                v[i] = (float) (1 + 0.5 * random.nextGaussian());
            }
            data.put(name, v);
            return g.addInitializer(name, ArrayTensor.ofFloats(new long[] {D}, v));
        }

        double[][] w(String name, int in, int out) {
            return SlancReference.fromMatMulB(data.get(name), in, out);
        }

        double[] gamma(String name) {
            return SlancReference.toDoubles(data.get(name));
        }
    }

    private static Value op(Graph g, String name, String opType, Value... inputs) {
        return g.addNode(opType, "", name, List.of(inputs), List.of(name + "_out")).output(0);
    }

    /** x / sqrt(mean(x^2) + eps) * gain, decomposed as the TorchScript exporter writes it (Div form). */
    private static Value rmsNorm(Synthetic s, Graph g, String name, Value x, Value gain) {
        Value sq = op(g, name + "/Pow", "Pow", x, s.two);
        Node mean = g.addNode("ReduceMean", "", name + "/ReduceMean", List.of(sq), List.of(name + "/ReduceMean_out"));
        mean.setAttribute(Attribute.ofInts("axes", -1));
        Value var = op(g, name + "/Add", "Add", mean.output(0), s.eps);
        Value std = op(g, name + "/Sqrt", "Sqrt", var);
        Value normed = op(g, name + "/Div", "Div", x, std);
        return op(g, name + "/Mul", "Mul", normed, gain);
    }

    /** x + W_2 relu(W_1 norm), the plain MLP block. */
    private static Value mlpResidual(Graph g, String name, Value x, Value normed, Value w1, Value w2) {
        Value h = op(g, name + "/fc1", "MatMul", normed, w1);
        Value a = op(g, name + "/act", "Relu", h);
        Value o = op(g, name + "/fc2", "MatMul", a, w2);
        return op(g, name + "/residual", "Add", x, o);
    }

    private static Graph passThrough(Graph parent, Value r) {
        Graph b = parent.newSubgraph();
        b.addOutput(op(b, "pass", "Identity", r));
        return b;
    }

    private static Synthetic build(boolean withLoop) {
        return build(withLoop, false);
    }

    private static Synthetic build(boolean withLoop, boolean nested) {
        Synthetic s = new Synthetic();
        Graph g = s.g;
        s.model.opsets().put("", 17L);
        Value ids = g.addInput("ids", TensorType.of(DataType.INT64, 1, 3));
        Value flag = g.addInput("use_then", TensorType.of(DataType.BOOL, 1));
        Value emb = s.weight("emb", VOCAB, D, 1.0);
        s.two = g.addInitializer("two", ArrayTensor.scalarFloat(2f));
        Node epsNode = g.addNode("Constant", "", "eps_const", List.of(), List.of("eps"));
        epsNode.setAttribute(Attribute.ofTensor("value", ArrayTensor.scalarFloat(EPS)));
        s.eps = epsNode.output(0);
        Value g0 = s.gain("g0");
        Value g1 = s.gain("g1");
        Value g2 = s.gain("g2");
        Value w1a = s.weight("w1a", D, FF, 0.7);
        Value w2a = s.weight("w2a", FF, D, 0.9);
        Value w1b = s.weight("w1b", D, FF, 1.1);
        Value w2b = s.weight("w2b", FF, D, 1.3);
        Value wout = s.weight("wout", D, VOCAB, 0.5);

        Value e = g.addNode("Gather", "", "embed", List.of(emb, ids), List.of("e")).output(0);
        Value n0 = rmsNorm(s, g, "n0", e, g0);
        Value r = mlpResidual(g, "mlp_a", e, n0, w1a, w2a);

        s.thenBranch = decoderTail(s, g, r, g1, g2, w1b, w2b, wout, "then");
        s.elseBranch = decoderTail(s, g, r, g1, g2, w1b, w2b, wout, "else");
        if (nested) { // the then-branch holds one more If, whose then-branch holds the decoder tail again
            Node inner = s.thenBranch.addNode("If", "", "inner_if", List.of(flag), List.of("inner_y"));
            inner.setAttribute(new Attribute("then_branch", Attribute.Kind.GRAPH,
                    decoderTail(s, s.thenBranch, r, g1, g2, w1b, w2b, wout, "inner_then"), "", ""));
            inner.setAttribute(new Attribute("else_branch", Attribute.Kind.GRAPH, passThrough(s.thenBranch, r), "", ""));
            s.thenBranch.addOutput(inner.output(0));
        }
        Node ifNode = g.addNode("If", "", "branch_if", List.of(flag), List.of("y"));
        ifNode.setAttribute(new Attribute("then_branch", Attribute.Kind.GRAPH, s.thenBranch, "", ""));
        ifNode.setAttribute(new Attribute("else_branch", Attribute.Kind.GRAPH, s.elseBranch, "", ""));
        ifNode.output(0).setType(TensorType.of(DataType.FLOAT, 1, 3, VOCAB));
        g.addOutput(ifNode.output(0));

        if (withLoop) {
            Value g3 = s.gain("g3");
            Value g4 = s.gain("g4");
            Value trips = g.addInitializer("trips", ArrayTensor.ofLongs(new long[0], 2));
            Value go = g.addInitializer("go", new ArrayTensor(DataType.BOOL, new long[0],
                    java.nio.ByteBuffer.wrap(new byte[] {1})));
            Graph body = g.newSubgraph();
            body.setName("loop_body");
            body.addInput("iter", TensorType.of(DataType.INT64));
            Value condIn = body.addInput("cond_in", TensorType.of(DataType.BOOL));
            Value carried = body.addInput("carried", TensorType.of(DataType.FLOAT, 1, 3, D));
            Value n3 = rmsNorm(s, body, "n3", carried, g3); // loop-carried: the block in front is another iteration's
            Value n4 = rmsNorm(s, body, "n4", r, g4);       // the outer residual: the main graph's MLP is in front
            body.addOutput(op(body, "cond_out", "Identity", condIn));
            Value next = op(body, "carry_next", "Add", n3, n4);
            next.setType(TensorType.of(DataType.FLOAT, 1, 3, D));
            body.addOutput(next);
            Node loop = g.addNode("Loop", "", "layer_loop", List.of(trips, go, r), List.of("z"));
            loop.setAttribute(new Attribute("body", Attribute.Kind.GRAPH, body, "", ""));
            loop.output(0).setType(TensorType.of(DataType.FLOAT, 1, 3, D));
            // a main-graph norm after the Loop: norms ran in front of it, so it is no first norm
            g.addOutput(rmsNorm(s, g, "n5", loop.output(0), s.gain("g5")));
            s.loopBody = body;
        }
        g.verify();
        return s;
    }

    /** One If branch: the norm n1 on the outer residual r, an MLP, the final norm n2, the output projection. */
    private static Graph decoderTail(Synthetic s, Graph parent, Value r, Value g1, Value g2, Value w1b, Value w2b,
                                     Value wout, String name) {
        Graph b = parent.newSubgraph();
        b.setName(name);
        Value n1 = rmsNorm(s, b, "n1", r, g1);
        Value h = mlpResidual(b, "mlp_b", r, n1, w1b, w2b);
        Value n2 = rmsNorm(s, b, "n2", h, g2);
        Value logits = op(b, "lm_head", "MatMul", n2, wout);
        logits.setType(TensorType.of(DataType.FLOAT, 1, 3, VOCAB));
        b.addOutput(logits);
        return b;
    }

    private static final String THEN = "If 'branch_if' then_branch";
    private static final String ELSE = "If 'branch_if' else_branch";
    private static final String LOOP = "Loop 'layer_loop' body";

    @Test
    void normsInBothBranchesAndTheLoopBodyGetTheReferenceScales() {
        Synthetic s = build(true);
        SlancOptions exact = SlancOptions.defaults().withPowerOfTwo(false).withDryRun(true)
                .withMath(io.onnxslanc.calibrate.math.SlancScales.Options.defaults().alwaysExact());
        CalibrationReport report = Slanc.calibrate(s.model, exact);
        System.out.print(report.toTable());

        double n1 = SlancReference.plainMlp(s.w("w1a", D, FF), s.w("w2a", FF, D), s.gamma("g0"));
        double n2 = SlancReference.plainMlp(s.w("w1b", D, FF), s.w("w2b", FF, D), s.gamma("g1"));
        double n0 = SlancReference.maxRowNorm(s.data.get("emb"), D);
        List<String> seen = new ArrayList<>();
        for (CalibrationReport.Norm n : report.norms()) {
            seen.add(n.subgraph() + " " + n.name() + " " + n.block());
        }
        assertEquals(List.of("null n0/Pow first",
                THEN + " n1/Pow mlp", THEN + " n2/Pow final",
                ELSE + " n1/Pow mlp", ELSE + " n2/Pow final",
                LOOP + " n3/Pow unknown", LOOP + " n4/Pow mlp", "null n5/Pow unknown"), seen); // n4 feeds n3 in the next iteration: not final
        List<CalibrationReport.Norm> norms = report.norms();
        assertEquals(n0, norms.get(0).scale(), 1e-12 * n0);
        for (int i : new int[] {1, 3, 6}) {
            assertEquals(n1, norms.get(i).scale(), 1e-9 * n1, norms.get(i).subgraph());
            assertEquals("n0/Pow", norms.get(i).fedBy(), "the feeding norm sits in the main graph");
            assertEquals(List.of("w1a", "w2a"), norms.get(i).weights());
        }
        for (int i : new int[] {2, 4}) {
            assertEquals(n2, norms.get(i).scale(), 1e-9 * n2, norms.get(i).subgraph());
            assertEquals("n1/Pow", norms.get(i).fedBy());
        }
        assertEquals(norms.get(3), report.norm("n1/Pow", ELSE));
        assertEquals(norms.get(0), report.norm("n0/Pow", null));
        assertEquals(norms.get(1).scale(), norms.get(3).scale(), "the two branches hold the same decoder");
        assertEquals(norms.get(2).scale(), norms.get(4).scale(), "the two branches hold the same decoder");
        CalibrationReport.Norm loopCarried = norms.get(5);
        assertNull(loopCarried.scale());
        assertTrue(loopCarried.reason().contains("'carried' is an input of " + LOOP + " (loop-carried or scanned)"),
                loopCarried.reason());
        assertTrue(norms.get(7).reason().contains("Loop(...), not a residual Add"), norms.get(7).reason());
        assertTrue(report.warnings().stream().noneMatch(w -> w.contains("read gain")), report.warnings().toString());
        assertTrue(io.onnxslanc.ReportJson.text(io.onnxslanc.ReportJson.calibration(report)).contains("\"subgraph\" : \"" + THEN + "\""), io.onnxslanc.ReportJson.text(io.onnxslanc.ReportJson.calibration(report)));
        assertTrue(report.toTable().contains(ELSE + "  n2/Pow"), report.toTable());
    }

    @Test
    void editsStayInTheBodyAndASharedEpsilonIsNeverChangedForOneUser(@TempDir Path dir) {
        Synthetic s = build(true);
        Map<String, Tensor> outerBefore = new HashMap<>();
        s.g.initializers().forEach(v -> outerBefore.put(v.name(), v.constant()));
        List<NormSite> sites = NormMatcher.findAll(s.g);
        CalibrationReport report = Slanc.calibrate(s.model, SlancOptions.defaults());
        System.out.print(report.toTable());
        s.g.verify();

        // weights and gains stay where they were, untouched, and are not copied into a branch
        for (Map.Entry<String, Tensor> e : outerBefore.entrySet()) {
            assertSame(e.getValue(), s.g.lookup(e.getKey()).constant(), e.getKey() + " changed");
        }
        for (Graph body : List.of(s.thenBranch, s.elseBranch, s.loopBody)) {
            for (Value init : body.initializers()) {
                assertTrue(init.name().startsWith(SlancRewrite.MUL_PREFIX) || init.name().startsWith("slanc_epsilon_"),
                        "a body got a copy of " + init.name());
            }
        }
        Value r = s.g.lookup("mlp_a/residual_out");
        Value epsOriginal = s.eps;
        for (NormSite site : sites) {
            CalibrationReport.Norm n = report.norms().get(sites.indexOf(site));
            Graph home = site.root().graph();
            Node add = ((Epsilon.InTensor) site.epsilon()).addNode();
            Value epsNow = add.input(1);
            if (n.scale() == null) {
                assertSame(epsOriginal, epsNow, n.name() + " (unscaled) lost the shared epsilon");
                continue;
            }
            // the Mul in front of the norm is in the norm's own graph and reads the value the norm read
            Node mul = site.root().input(0).producer();
            assertEquals("Mul", mul.opType(), n.name());
            assertSame(home, mul.graph(), n.name() + ": Mul outside the norm's graph");
            assertTrue(mul.name().startsWith(SlancRewrite.MUL_PREFIX));
            if (n.name().equals("n1/Pow") || n.name().equals("n4/Pow")) {
                assertSame(r, mul.input(0), n.name() + ": should scale the outer residual on its edge into the norm");
            }
            // a fresh epsilon constant of this norm's own value, in the norm's graph
            assertNotSame(epsOriginal, epsNow, n.name());
            assertSame(home, epsNow.graph(), n.name() + ": epsilon constant outside the norm's graph");
            double sq = n.scale() * n.scale();
            assertEquals(EPS / sq, Constants.tensor(epsNow).toDoubles()[0], 1e-6 * EPS / sq, n.name());
        }
        // the unscaled loop-carried norm still reads the shared Constant, which keeps its value
        assertNotNull(s.g.findNode("eps_const"));
        assertTrue(report.norms().stream().filter(n -> n.scale() == null).count() == 2, "n3 and n5 unscaled");
        assertEquals(EPS, Constants.tensor(epsOriginal).toDoubles()[0], 0.0);
        for (Graph branch : List.of(s.thenBranch, s.elseBranch)) {
            assertTrue(r.uses().stream().anyMatch(u -> u.node().name().equals("mlp_b/residual") && u.node().graph() == branch),
                    "the branch's residual Add keeps the unscaled outer tensor");
        }

        // written and read back: recognised as calibrated, bodies keep their Muls
        Path out = dir.resolve("synthetic_subgraphs.onnx");
        ModelWriter.write(s.model, out);
        Model back = ModelReader.read(out);
        assertTrue(SlancRewrite.isCalibrated(back, NormMatcher.findAll(back.graph())));
        int muls = 0;
        for (Node n : collect(back.graph())) {
            muls += n.is("Mul") && n.name().startsWith(SlancRewrite.MUL_PREFIX) ? 1 : 0;
        }
        assertEquals(6, muls, "n0, n1 and n2 in each branch, n4");
    }

    @Test
    void aSharedEpsilonWhoseUsersAllMovedIsDropped() {
        Synthetic s = build(false);
        CalibrationReport report = Slanc.calibrate(s.model, SlancOptions.defaults());
        assertTrue(report.norms().stream().allMatch(n -> n.scale() != null), report.toTable());
        s.g.cleanup();
        s.g.verify();
        assertNull(s.g.findNode("eps_const"), "every user got its own epsilon: the shared Constant is dead");
    }

    @Test
    void copiesOfANormThatDisagreeAreReported() {
        Synthetic s = build(false);
        List<NormSite> sites = NormMatcher.findAll(s.g);
        List<NormCalibration> cal = new ArrayList<>(SlancCalibrator.compute(BlockFinder.findAll(s.g, sites),
                SlancOptions.defaults()));
        assertEquals(List.of(), BranchConsistency.check(cal));
        NormCalibration elseN2 = cal.get(4);
        assertEquals(ELSE, GraphScopes.describe(elseN2.block().site().root().graph()));
        cal.set(4, new NormCalibration(elseN2.block(), elseN2.result(), elseN2.scale() * 2, null));
        List<String> problems = BranchConsistency.check(cal);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains(THEN) && problems.get(0).contains(ELSE) && problems.get(0).contains("'g2'"),
                problems.get(0));
        cal.set(4, new NormCalibration(elseN2.block(), null, null, "made up"));
        assertTrue(BranchConsistency.check(cal).get(0).contains("only one is scaled (" + ELSE + ": made up)"));
    }

    @Test
    void anUnmatchedCandidateNamesItsBranch() {
        Synthetic s = build(false);
        s.elseBranch.addNode("LayerNormalization", "custom.domain", "odd_norm", List.of(s.g.lookup("mlp_a/residual_out")),
                List.of("odd_out"));
        s.g.addNode("LayerNormalization", "custom.domain", "odd_main", List.of(s.g.lookup("e")), List.of("odd_main_out"));
        CalibrationReport report = Slanc.calibrate(s.model, SlancOptions.defaults().withDryRun(true));
        assertEquals(2, report.candidates().size(), report.toTable());
        assertEquals(ELSE, report.candidates().get(0).subgraph()); // graph order: the If's bodies, then later nodes
        assertEquals("odd_main", report.candidates().get(1).node());
        assertNull(report.candidates().get(1).subgraph());
        assertEquals(1, io.onnxslanc.ReportJson.text(io.onnxslanc.ReportJson.calibration(report)).split("\"subgraph\"", -1).length - 1 - report.norms().stream()
                .filter(n -> n.subgraph() != null).count(), "main-graph candidates carry no subgraph field");
        assertTrue(report.toTable().contains("not matched: custom.domain:LayerNormalization 'odd_norm' (output 'odd_out', in "
                + ELSE + "): "), report.toTable());
        assertTrue(io.onnxslanc.ReportJson.text(io.onnxslanc.ReportJson.calibration(report)).contains("\"subgraph\" : \"" + ELSE + "\""), io.onnxslanc.ReportJson.text(io.onnxslanc.ReportJson.calibration(report)));
    }

    @Test
    void nestedBranchesAreCalibratedAndNamedOuterFirst() {
        Synthetic s = build(false, true);
        CalibrationReport report = Slanc.calibrate(s.model, SlancOptions.defaults().withDryRun(true));
        System.out.print(report.toTable());
        String nested = THEN + " / If 'inner_if' then_branch";
        CalibrationReport.Norm n1 = report.norm("n1/Pow", nested);
        CalibrationReport.Norm n2 = report.norm("n2/Pow", nested);
        assertNotNull(n1, report.toTable());
        assertEquals(report.norm("n1/Pow", THEN).scale(), n1.scale());
        assertEquals("mlp", n1.block());
        assertEquals(report.norm("n2/Pow", THEN).scale(), n2.scale());
        assertEquals(List.of(), report.warnings().stream().filter(w -> w.contains("read gain")).toList());
    }

    /**
     * The torch-exported merged decoder (fixtures/exports/hf_llama_merged, the weights of hf_llama_kv_cache): in each
     * If branch every norm gets exactly the scale of the same norm in the plain KV-cache export, rounded and not.
     */
    @Test
    void mergedExportBranchesGetThePlainExportsScales() {
        for (boolean powerOfTwo : new boolean[] {true, false}) {
            SlancOptions options = SlancOptions.defaults().withPowerOfTwo(powerOfTwo).withDryRun(true);
            CalibrationReport plain = Slanc.calibrate(ModelReader.read(fixture("hf_llama_kv_cache.onnx")), options);
            CalibrationReport merged = Slanc.calibrate(ModelReader.read(fixture("hf_llama_merged.onnx")), options);
            assertEquals(2 * plain.norms().size(), merged.norms().size(), merged.toTable());
            for (String branch : List.of("then_branch", "else_branch")) {
                String graph = "If 'optimum::if' " + branch;
                for (CalibrationReport.Norm want : plain.norms()) {
                    CalibrationReport.Norm got = merged.norm(want.name(), graph);
                    assertNotNull(got, want.name() + " missing in " + graph + "\n" + merged.toTable());
                    assertNotNull(got.scale(), got.name() + ": " + got.reason());
                    assertEquals(want.block(), got.block(), graph + " " + want.name());
                    assertEquals(want.scale(), got.scale(), graph + " " + want.name());
                    assertEquals(want.scaleUnrounded(), got.scaleUnrounded(), graph + " " + want.name());
                }
            }
            assertTrue(merged.warnings().stream().noneMatch(w -> w.contains("read gain")), merged.warnings().toString());
        }
    }

    private static Path fixture(String name) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("fixtures").resolve("exports").resolve(name);
            if (java.nio.file.Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new IllegalStateException("fixtures/exports/" + name + " not found above " + Path.of("").toAbsolutePath());
    }

    private static List<Node> collect(Graph g) {
        List<Node> out = new ArrayList<>();
        g.forEachNodeRecursive(out::add);
        return out;
    }
}
