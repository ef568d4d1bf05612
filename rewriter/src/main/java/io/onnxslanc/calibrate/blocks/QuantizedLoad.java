package io.onnxslanc.calibrate.blocks;

import io.onnxslanc.calibrate.math.MatrixView;

/** {@link WeightRef#load()} for a {@link QuantizedWeight}: the same layouts and row selections as a float weight. */
final class QuantizedLoad {
    private QuantizedLoad() {
    }

    static WeightRef.Loaded load(WeightRef ref, QuantizedWeight q) {
        QuantizedWeight.Mapped m = q.map(ref.name());
        try {
            if (!ref.isPartial()) {
                return WeightRef.Loaded.holding(ref.storedIsMath() ? m.stored() : m.stored().transposed(), m);
            }
            int cols = ref.storedCols();
            if (ref.groups() > 1) {
                MatrixView copied = ref.copySelected(ref.storedIsMath() ? m.stored() : m.stored().transposed());
                m.close();
                return new WeightRef.Loaded(copied, null, null);
            }
            if (ref.storedIsMath()) {
                // math rows are stored rows: the decoder shifted to the first selected row, no copy
                int offset = Math.multiplyExact(ref.outFrom(), cols);
                MatrixView rows = MatrixView.ofDecoded(ref.name(), (i, len, dst, off) -> m.lines().read(offset + i, len, dst, off),
                        ref.outFeatures(), cols);
                return WeightRef.Loaded.holding(rows, m);
            }
            // math rows are stored columns: copy the selected block (as the float path does), then release
            MatrixView math = m.stored().transposed();
            int in = ref.inFeatures();
            float[] copy = new float[Math.multiplyExact(ref.outFeatures(), in)];
            double[] buf = new double[in];
            for (int r = ref.outFrom(); r < ref.outTo(); r++) {
                math.copyBlock(r, r + 1, 0, in, buf);
                int base = (r - ref.outFrom()) * in;
                for (int i = 0; i < in; i++) {
                    copy[base + i] = (float) buf[i];
                }
            }
            m.close();
            return new WeightRef.Loaded(MatrixView.ofFloats(ref.name(), copy, ref.outFeatures(), in), null, null);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }
}
