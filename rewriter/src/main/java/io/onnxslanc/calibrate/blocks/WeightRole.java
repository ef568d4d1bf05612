package io.onnxslanc.calibrate.blocks;

/** The part a weight plays in a block's SLaNC formula. */
public enum WeightRole {
    V("W_v"), O("W_o"), GATE("W_gate"), UP("W_up"), DOWN("W_down"), W1("W_1"), W2("W_2"), PROJECTION("W");

    private final String label;

    WeightRole(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
