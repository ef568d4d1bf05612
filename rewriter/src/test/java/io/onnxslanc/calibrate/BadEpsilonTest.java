package io.onnxslanc.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.onnxslanc.Slanc;
import io.onnxslanc.StrictCheckException;
import io.onnxslanc.ir.ArrayTensor;
import io.onnxslanc.ir.Attribute;
import io.onnxslanc.ir.Model;
import org.junit.jupiter.api.Test;

/**
 * A norm whose epsilon is NaN or negative (a corrupt or hand-edited model) is left unscaled with a reason that says
 * so, its epsilon untouched, the other norms still scaled; --strict refuses such a model.
 */
class BadEpsilonTest {

    private static CalibrationReport calibrateWithFusedEpsilon(float eps, SlancOptions options) {
        TestGraph t = Transformers.llama(41);
        t.g.findNode("l0/post_ln").setAttribute(Attribute.ofFloat("epsilon", eps));
        return Slanc.calibrate(t.model, options);
    }

    @Test
    void nanEpsilonLeavesTheNormUnscaled() {
        CalibrationReport r = calibrateWithFusedEpsilon(Float.NaN, SlancOptions.defaults());
        CalibrationReport.Norm n = r.norm("l0/post_ln");
        assertNull(n.scale(), r.toTable());
        assertEquals("epsilon is NaN", n.reason());
        assertNotNull(r.norm("l1/post_ln").scale(), "the other norms are scaled as usual");
        assertTrue(r.warnings().contains("1 of 5 norms left unscaled; see their \"reason\""), r.warnings().toString());
    }

    @Test
    void negativeEpsilonLeavesTheNormUnscaledAndStrictFails() {
        CalibrationReport r = calibrateWithFusedEpsilon(-1e-5f, SlancOptions.defaults());
        CalibrationReport.Norm n = r.norm("l0/post_ln");
        assertNull(n.scale());
        assertTrue(n.reason().startsWith("epsilon is negative"), n.reason());
        assertEquals(n.epsilonBefore(), n.epsilonAfter(), "epsilon left as found");
        assertThrows(StrictCheckException.class,
                () -> calibrateWithFusedEpsilon(-1e-5f, SlancOptions.defaults().withStrict(true)));
    }

    @Test
    void negativeEpsilonOfAFirstNormAlsoFailsStrict() {
        TestGraph t = Transformers.llama(42);
        String first = Slanc.calibrate(Transformers.llama(42).model, SlancOptions.defaults().withDryRun(true))
                .norms().get(0).name();
        t.g.findNode(first).setAttribute(Attribute.ofFloat("epsilon", -1f));
        Model m = t.model;
        assertThrows(StrictCheckException.class, () -> Slanc.calibrate(m, SlancOptions.defaults().withStrict(true)));
    }

    @Test
    void negativeEpsilonConstantOfADecomposedNormIsNotMatchedAsANorm() {
        // the canonical form of a decomposed norm reads var + eps only with eps >= 0: the negative one leaves the
        // pattern unmatched, so it is listed among the candidates and nothing is scaled there
        TestGraph t = Transformers.bert(43);
        t.g.lookup("eps_shared").setConstant(ArrayTensor.ofFloats(new long[0], new float[] {-1e-12f}));
        CalibrationReport r = Slanc.calibrate(t.model, SlancOptions.defaults());
        assertTrue(r.norms().stream().noneMatch(x -> x.name().startsWith("l0/attn_ln")), r.toTable());
        assertTrue(r.toTable().contains("not matched: Sqrt 'l0/attn_ln/Sqrt'"), r.toTable());
    }

    @Test
    void zeroEpsilonIsFine() {
        CalibrationReport r = calibrateWithFusedEpsilon(0f, SlancOptions.defaults());
        assertNotNull(r.norm("l0/post_ln").scale());
        assertEquals(0.0, r.norm("l0/post_ln").epsilonAfter());
    }
}
