package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.ir.Node;

/**
 * Reads the two-operand Einsums attention is sometimes written with ("bhqk,bhkd->bhqd" for probs @ V,
 * "bhqd,bhkd->bhqk" for Q @ K^T, in any letters and axis order).
 */
final class Einsums {
    private Einsums() {
    }

    /** The operand letters and the output letters, ellipses removed; null when not a two-operand explicit equation. */
    static String[] parse(Node n) {
        if (!n.is("Einsum") || n.inputs().size() != 2 || n.input(0) == null || n.input(1) == null
                || GraphOps.isConstant(n.input(0)) || GraphOps.isConstant(n.input(1))) {
            return null;
        }
        String eq = n.attribute("equation").map(a -> a.stringValue()).orElse(null);
        if (eq == null || !eq.contains("->")) {
            return null;
        }
        eq = eq.replace(" ", "").replace("...", "");
        String[] sides = eq.split("->", -1);
        String[] operands = sides[0].split(",", -1);
        if (operands.length != 2 || sides[1].isEmpty()) {
            return null;
        }
        return new String[] {operands[0], operands[1], sides[1]};
    }

    /**
     * For probs @ V: the index (0 or 1) of the V operand, the one holding the output's last letter (the value
     * features) while the other holds the contracted key-position letter; -1 when the Einsum is not of that form.
     */
    static int valueOperand(Node n) {
        String[] p = parse(n);
        if (p == null) {
            return -1;
        }
        char last = p[2].charAt(p[2].length() - 1);
        boolean in0 = p[0].indexOf(last) >= 0;
        boolean in1 = p[1].indexOf(last) >= 0;
        if (in0 == in1 || !hasContraction(p)) {
            return -1;
        }
        return in1 ? 1 : 0;
    }

    /**
     * For Q @ K^T: the index of the Q operand, the one holding the output's second-last letter (the query
     * position); -1 when not of that form.
     */
    static int queryOperand(Node n) {
        String[] p = parse(n);
        if (p == null || p[2].length() < 2) {
            return -1;
        }
        char query = p[2].charAt(p[2].length() - 2);
        boolean in0 = p[0].indexOf(query) >= 0;
        boolean in1 = p[1].indexOf(query) >= 0;
        if (in0 == in1 || !hasContraction(p)) {
            return -1;
        }
        return in0 ? 0 : 1;
    }

    /** Some letter appears in both operands and not in the output. */
    private static boolean hasContraction(String[] p) {
        for (char c : p[0].toCharArray()) {
            if (p[1].indexOf(c) >= 0 && p[2].indexOf(c) < 0) {
                return true;
            }
        }
        return false;
    }
}
