package io.onnxslanc.canon;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Data movement of folded constants: Transpose, Gather, (Un)Squeeze, Slice, Concat. */
final class Layout {
    private Layout() {
    }

    private static long[] strides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int k = dims.length - 1; k >= 0; k--) {
            s[k] = acc;
            acc *= dims[k];
        }
        return s;
    }

    private static long[] coords(long flat, long[] dims) {
        long[] c = new long[dims.length];
        for (int k = dims.length - 1; k >= 0; k--) {
            c[k] = flat % dims[k];
            flat /= dims[k];
        }
        return c;
    }

    static Folded transpose(Folded in, long[] perm) {
        if (in == null) {
            return null;
        }
        int rank = in.dims().length;
        long[] p = perm != null ? perm : new long[rank];
        if (perm == null) {
            for (int i = 0; i < rank; i++) {
                p[i] = rank - 1 - i;
            }
        }
        if (p.length != rank) {
            return null;
        }
        long[] outDims = new long[rank];
        for (int i = 0; i < rank; i++) {
            outDims[i] = in.dims()[(int) p[i]];
        }
        long[] inStrides = strides(in.dims());
        int[] src = new int[in.size()];
        for (int i = 0; i < src.length; i++) {
            long[] c = coords(i, outDims);
            long s = 0;
            for (int k = 0; k < rank; k++) {
                s += c[k] * inStrides[(int) p[k]];
            }
            src[i] = (int) s;
        }
        return in.pick(outDims, src);
    }

    static Folded gather(Folded data, Folded indices, long axis) {
        if (data == null || indices == null || !indices.integer()) {
            return null;
        }
        int rank = data.dims().length;
        int a = (int) (axis < 0 ? axis + rank : axis);
        if (a < 0 || a >= rank) {
            return null;
        }
        long[] dd = data.dims();
        long[] outDims = new long[rank - 1 + indices.dims().length];
        System.arraycopy(dd, 0, outDims, 0, a);
        System.arraycopy(indices.dims(), 0, outDims, a, indices.dims().length);
        System.arraycopy(dd, a + 1, outDims, a + indices.dims().length, rank - a - 1);
        long[] dataStrides = strides(dd);
        int q = indices.dims().length;
        int[] src = new int[(int) ConstantFolder.count(outDims)];
        for (int i = 0; i < src.length; i++) {
            long[] c = coords(i, outDims);
            long idxFlat = 0;
            long[] idxStrides = strides(indices.dims());
            for (int k = 0; k < q; k++) {
                idxFlat += c[a + k] * idxStrides[k];
            }
            long idx = indices.integer((int) idxFlat);
            if (idx < 0) {
                idx += dd[a];
            }
            if (idx < 0 || idx >= dd[a]) {
                return null;
            }
            long s = 0;
            for (int k = 0; k < a; k++) {
                s += c[k] * dataStrides[k];
            }
            s += idx * dataStrides[a];
            for (int k = a + 1; k < rank; k++) {
                s += c[k - 1 + q] * dataStrides[k];
            }
            src[i] = (int) s;
        }
        return data.pick(outDims, src);
    }

    static Folded unsqueeze(Folded in, long[] axes) {
        int outRank = in.dims().length + axes.length;
        boolean[] inserted = new boolean[outRank];
        for (long ax : axes) {
            int a = (int) (ax < 0 ? ax + outRank : ax);
            if (a < 0 || a >= outRank || inserted[a]) {
                return null;
            }
            inserted[a] = true;
        }
        long[] out = new long[outRank];
        int j = 0;
        for (int i = 0; i < outRank; i++) {
            out[i] = inserted[i] ? 1 : in.dims()[j++];
        }
        return in.reshaped(out);
    }

    static Folded squeeze(Folded in, long[] axes) {
        int rank = in.dims().length;
        boolean[] drop = new boolean[rank];
        if (axes.length == 0) {
            for (int i = 0; i < rank; i++) {
                drop[i] = in.dims()[i] == 1;
            }
        }
        for (long ax : axes) {
            int a = (int) (ax < 0 ? ax + rank : ax);
            if (a < 0 || a >= rank || in.dims()[a] != 1) {
                return null;
            }
            drop[a] = true;
        }
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            if (!drop[i]) {
                out.add(in.dims()[i]);
            }
        }
        return in.reshaped(out.stream().mapToLong(Long::longValue).toArray());
    }

    static Folded slice(Folded in, long[] starts, long[] ends, long[] axes, long[] steps) {
        int rank = in.dims().length;
        if (starts.length != ends.length || (axes != null && axes.length != starts.length)
                || (steps != null && steps.length != starts.length)) {
            return null;
        }
        long[] from = new long[rank];
        long[] step = new long[rank];
        long[] outDims = in.dims().clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < starts.length; i++) {
            long ax = axes == null ? i : axes[i];
            int a = (int) (ax < 0 ? ax + rank : ax);
            if (a < 0 || a >= rank) {
                return null;
            }
            long dim = in.dims()[a];
            long st = steps == null ? 1 : steps[i];
            if (st == 0) {
                return null;
            }
            long s = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (st > 0) {
                s = Math.max(0, Math.min(dim, s));
                e = Math.max(0, Math.min(dim, e));
                outDims[a] = Math.max(0, (e - s + st - 1) / st);
            } else {
                s = Math.max(-1, Math.min(dim - 1, s));
                e = Math.max(-1, Math.min(dim - 1, e));
                outDims[a] = Math.max(0, (s - e + (-st) - 1) / (-st));
            }
            from[a] = s;
            step[a] = st;
        }
        long[] inStrides = strides(in.dims());
        int[] src = new int[(int) ConstantFolder.count(outDims)];
        for (int i = 0; i < src.length; i++) {
            long[] c = coords(i, outDims);
            long s = 0;
            for (int k = 0; k < rank; k++) {
                s += (from[k] + c[k] * step[k]) * inStrides[k];
            }
            src[i] = (int) s;
        }
        return in.pick(outDims, src);
    }

    static Folded concat(Folded[] parts, long axis) {
        if (parts.length == 0) {
            return null;
        }
        int rank = parts[0].dims().length;
        int a = (int) (axis < 0 ? axis + rank : axis);
        if (a < 0 || a >= rank) {
            return null;
        }
        long[] outDims = parts[0].dims().clone();
        outDims[a] = 0;
        for (Folded p : parts) {
            if (p.dims().length != rank || p.integer() != parts[0].integer()) {
                return null;
            }
            for (int k = 0; k < rank; k++) {
                if (k != a && p.dims()[k] != parts[0].dims()[k]) {
                    return null;
                }
            }
            outDims[a] += p.dims()[a];
        }
        int n = (int) ConstantFolder.count(outDims);
        long[] ints = parts[0].integer() ? new long[n] : null;
        double[] reals = parts[0].integer() ? null : new double[n];
        long outer = ConstantFolder.count(Arrays.copyOfRange(outDims, 0, a));
        long inner = ConstantFolder.count(Arrays.copyOfRange(outDims, a + 1, rank));
        int at = 0;
        for (long o = 0; o < outer; o++) {
            for (Folded p : parts) {
                long block = p.dims()[a] * inner;
                for (long j = 0; j < block; j++) {
                    int srcIndex = (int) (o * block + j);
                    if (ints != null) {
                        ints[at++] = p.integer(srcIndex);
                    } else {
                        reals[at++] = p.real(srcIndex);
                    }
                }
            }
        }
        return new Folded(parts[0].type(), outDims, reals, ints);
    }
}
