package io.onnxslanc.io;

import io.onnxslanc.Progress;
import java.nio.file.Path;

/**
 * How a model is written.
 *
 * @param externalData   INLINE, EXTERNAL, or AUTO (external only when the file would pass 2 GiB)
 * @param dataFileName   name of the external data file beside the model; null: model file name + ".data"
 * @param sizeThreshold  tensors smaller than this stay inline even in EXTERNAL mode
 * @param alignment      external tensors start at multiples of this (page size, so runtimes can map them)
 * @param progress       reports bytes written
 */
public record WriteOptions(ExternalData externalData, String dataFileName, long sizeThreshold, int alignment,
                           Progress progress) {

    public enum ExternalData { AUTO, INLINE, EXTERNAL }

    /** Protobuf refuses messages of 2 GiB; stay clear of it with a margin for the graph itself. */
    public static final long INLINE_LIMIT = (1L << 31) - (64L << 20);

    public static WriteOptions defaults() {
        return new WriteOptions(ExternalData.AUTO, null, 1024, 4096, Progress.NONE);
    }

    /** The external data file a model written to {@code out} gets under these options. */
    public Path dataFile(Path out) {
        Path abs = out.toAbsolutePath();
        return abs.resolveSibling(dataFileName != null ? dataFileName : abs.getFileName() + ".data");
    }

    public WriteOptions withExternalData(ExternalData e) {
        return new WriteOptions(e, dataFileName, sizeThreshold, alignment, progress);
    }

    public WriteOptions withDataFileName(String name) {
        return new WriteOptions(externalData, name, sizeThreshold, alignment, progress);
    }

    public WriteOptions withProgress(Progress p) {
        return new WriteOptions(externalData, dataFileName, sizeThreshold, alignment, p);
    }
}
