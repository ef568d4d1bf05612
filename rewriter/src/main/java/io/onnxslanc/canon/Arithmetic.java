package io.onnxslanc.canon;

/** Elementwise arithmetic of folded constants, with ONNX's multidirectional broadcasting. */
final class Arithmetic {
    private Arithmetic() {
    }

    static Folded unary(String op, Folded in) {
        int n = in.size();
        if (in.integer()) {
            if (!op.equals("Neg") && !op.equals("Abs")) {
                return null;
            }
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = op.equals("Neg") ? -in.integer(i) : Math.abs(in.integer(i));
            }
            return Folded.ofInts(in.type(), in.dims(), out);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double x = in.real(i);
            double y = switch (op) {
                case "Neg" -> -x;
                case "Sqrt" -> Math.sqrt(x);
                case "Reciprocal" -> 1 / x;
                case "Abs" -> Math.abs(x);
                case "Exp" -> Math.exp(x);
                case "Log" -> Math.log(x);
                case "Floor" -> Math.floor(x);
                case "Ceil" -> Math.ceil(x);
                default -> throw new IllegalArgumentException(op);
            };
            out[i] = Folded.round(in.type(), y);
        }
        return Folded.ofReals(in.type(), in.dims(), out);
    }

    /** {@code a op b}; the result has a's type (ONNX requires equal types, except Pow's exponent). */
    static Folded binary(String op, Folded a, Folded b, long fmod) {
        long[] dims = StaticShapes.broadcast(a.dims(), b.dims());
        if (dims == null || (!op.equals("Pow") && a.integer() != b.integer())) {
            return null;
        }
        int n = (int) ConstantFolder.count(dims);
        if (n > ConstantFolder.MAX_ELEMENTS) {
            return null;
        }
        int[] ia = sourceIndex(a.dims(), dims);
        int[] ib = sourceIndex(b.dims(), dims);
        if (a.integer() && !op.equals("Pow")) {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                long x = a.integer(ia[i]);
                long y = b.integer(ib[i]);
                if ((op.equals("Div") || op.equals("Mod")) && y == 0) {
                    return null;
                }
                out[i] = switch (op) {
                    case "Add" -> x + y;
                    case "Sub" -> x - y;
                    case "Mul" -> x * y;
                    case "Div" -> x / y; // C-style truncation, as ONNX Runtime's integer Div
                    case "Max" -> Math.max(x, y);
                    case "Min" -> Math.min(x, y);
                    case "Mod" -> fmod == 1 ? x % y : Math.floorMod(x, y);
                    default -> throw new IllegalArgumentException(op);
                };
            }
            return Folded.ofInts(a.type(), dims, out);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double x = a.real(ia[i]);
            double y = b.real(ib[i]);
            double r = switch (op) {
                case "Add" -> x + y;
                case "Sub" -> x - y;
                case "Mul" -> x * y;
                case "Div" -> x / y;
                case "Pow" -> Math.pow(x, y);
                case "Max" -> Math.max(x, y);
                case "Min" -> Math.min(x, y);
                case "Mod" -> x % y;
                default -> throw new IllegalArgumentException(op);
            };
            out[i] = Folded.round(a.type(), r);
        }
        if (a.integer()) { // integer Pow
            long[] ints = new long[n];
            for (int i = 0; i < n; i++) {
                ints[i] = (long) out[i];
            }
            return Folded.ofInts(a.type(), dims, ints);
        }
        return Folded.ofReals(a.type(), dims, out);
    }

    /** For every element of the broadcast shape {@code out}, the index of the element of {@code in} it reads. */
    static int[] sourceIndex(long[] in, long[] out) {
        int n = (int) ConstantFolder.count(out);
        int[] index = new int[n];
        int rank = out.length;
        int offset = rank - in.length;
        long[] inStrides = new long[in.length];
        long s = 1;
        for (int k = in.length - 1; k >= 0; k--) {
            inStrides[k] = s;
            s *= in[k];
        }
        for (int i = 0; i < n; i++) {
            long rest = i;
            long src = 0;
            for (int k = rank - 1; k >= 0; k--) {
                long coord = rest % out[k];
                rest /= out[k];
                int ik = k - offset;
                if (ik >= 0 && in[ik] != 1) {
                    src += coord * inStrides[ik];
                }
            }
            index[i] = (int) src;
        }
        return index;
    }
}
