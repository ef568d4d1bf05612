package io.onnxslanc.calibrate;

import io.onnxslanc.calibrate.blocks.WeightRef;
import io.onnxslanc.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Reads the external-data files of the next block's weights sequentially in the background, so they are in the
 * page cache when the block is computed: calibrating a 27 GB model is then bounded by the arithmetic, not by page
 * faults on memory-mapped weights. Nothing is kept on the heap; a failure here only costs the warm-up.
 */
final class WeightPrefetcher implements AutoCloseable {
    private static final int CHUNK = 8 << 20;
    /** Used only by the single worker thread: one buffer for every tensor, not a new native one each time. */
    private final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK);
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "slanc-weight-prefetch");
        t.setDaemon(true);
        return t;
    });

    void warm(Collection<WeightRef> weights) {
        List<Tensor> tensors = new ArrayList<>();
        for (WeightRef w : weights) {
            if (w.tensor().backingFile().isPresent()) {
                tensors.add(w.tensor());
            }
        }
        if (!tensors.isEmpty()) {
            worker.submit(() -> tensors.forEach(this::readThrough));
        }
    }

    private void readThrough(Tensor t) {
        try {
            t.prefetch(chunk);
        } catch (IOException e) {
            // only a warm-up: the calibration maps the weights itself and reports real read errors
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
