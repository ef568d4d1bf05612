package io.onnxslanc.io;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Writes the IR to an .onnx file, streaming weights tensor by tensor: the data file (when the weights go external)
 * by {@link DataFileWriter}, then the model's protobuf by {@link ProtoEncoder}. Everything goes to temp
 * files in the target folder that are renamed into place at the end, so a failure leaves
 * nothing at the output path.
 */
public final class ModelWriter {
    private final Path out;
    private final WriteOptions options;
    private final boolean external;
    private final long bytesTotal;

    private ModelWriter(Model model, Path out, WriteOptions options) {
        this.out = out.toAbsolutePath();
        this.options = options;
        long weights = initializerBytes(model.graph());
        this.bytesTotal = weights;
        this.external = switch (options.externalData()) {
            case EXTERNAL -> true;
            case INLINE -> {
                if (weights > WriteOptions.INLINE_LIMIT) {
                    throw new ModelFormatException(out, "the weights (" + weights
                            + " bytes) do not fit in one protobuf (2 GiB); write them as external data");
                }
                yield false;
            }
            case AUTO -> weights > WriteOptions.INLINE_LIMIT;
        };
    }

    /** Writes {@code model} to {@code out}; returns the data file written (see {@link #write(Model, Path, WriteOptions, DataSpool)}). */
    public static Path write(Model model, Path out) {
        return write(model, out, WriteOptions.defaults());
    }

    /** Writes {@code model} to {@code out}; returns the data file written (see {@link #write(Model, Path, WriteOptions, DataSpool)}). */
    public static Path write(Model model, Path out, WriteOptions options) {
        return write(model, out, options, null);
    }

    /**
     * Writes {@code model}, taking its external data from {@code spool} when that holds exactly the tensors this
     * write would stream (same names, same content keys, same order and layout); otherwise the spool is deleted
     * and the data written as usual. Either way the files are the same as those of a write without a spool.
     *
     * @return the external data file actually written, or null when everything went inline; it is
     *         {@link WriteOptions#dataFile} of {@code out} unless that existed (an earlier pair being replaced), in
     *         which case the new data went under a fresh name so that a kill leaves the old pair or the new one whole
     */
    public static Path write(Model model, Path out, WriteOptions options, DataSpool spool) {
        return new ModelWriter(model, out, options).run(model, spool);
    }

    /** Whether this model would be written with an external data file under these options. */
    public static boolean writesExternalData(Model model, WriteOptions options) {
        return options.externalData() == WriteOptions.ExternalData.EXTERNAL
                || (options.externalData() == WriteOptions.ExternalData.AUTO
                && initializerBytes(model.graph()) > WriteOptions.INLINE_LIMIT);
    }

    private static long initializerBytes(Graph g) {
        return g.initializersRecursive().stream().mapToLong(v -> v.constant().byteSize()).sum();
    }

    /** Writes the pair; returns the data file written, null when everything went inline. */
    private Path run(Model model, DataSpool spool) {
        Path modelTemp = null;
        try (DataFileWriter data = new DataFileWriter(out, options)) {
            Files.createDirectories(out.getParent());
            options.progress().begin("writing " + out.getFileName(), bytesTotal);
            if (!external && spool != null) {
                spool.close(); // written inline: the spooled data file has no use
            }
            WriteTargets inputs = WriteTargets.of(null, model);
            inputs.check(out, "output");
            TempFiles.cleanStale(out);
            if (external) {
                data.writeOrAdopt(DataFileWriter.externalInitializers(model.graph(), options), inputs, spool);
            }
            Map<Value, Long> offsets = data.offsets();
            List<ProtoPiece> pieces = new ProtoEncoder(offsets, external ? data.writtenName() : null).modelPieces(model);
            modelTemp = TempFiles.beside(out);
            writePieces(pieces, modelTemp);
            // the pair is replaced so that a kill at any moment leaves the old pair or the new one: the new data goes
            // under a name no existing file has, the model is renamed over the old one last, and only then does the
            // old pair's data file go
            if (external) {
                data.moveIntoPlace();
            }
            TempFiles.moveIntoPlace(modelTemp, out);
            modelTemp = null;
            data.removeOldDataFiles(inputs);
            options.progress().end();
            return external ? data.writtenDataFile() : null;
        } catch (IOException | UncheckedIOException e) {
            throw cannotWrite(out, e);
        } finally {
            TempFiles.deleteQuietly(modelTemp);
        }
    }

    /**
     * Writes the external data file of {@code model} now, into a temp file beside {@code out}, so that it can be
     * produced while other work (SLaNC's arithmetic) goes on; {@link #write(Model, Path, WriteOptions, DataSpool)}
     * adopts it when the model it writes still has the same external tensors. Null (nothing written) when these
     * options write no external data for this model, or when a tensor cannot name its content
     * ({@link io.onnxslanc.ir.Tensor#contentKey()}: weights stored inside the .onnx, tensors built in memory), since
     * such a spool could never be adopted. Interrupting the calling thread stops the spool and deletes its file.
     */
    public static DataSpool spool(Model model, Path out, WriteOptions options) {
        ModelWriter w = new ModelWriter(model, out, options);
        if (!w.external) {
            return null;
        }
        List<Value> weights = DataFileWriter.externalInitializers(model.graph(), options);
        if (!DataFileWriter.allNameTheirContent(weights)) {
            return null;
        }
        try (DataFileWriter data = new DataFileWriter(w.out, options)) {
            Files.createDirectories(w.out.getParent());
            return data.spool(model.graph(), weights, w.bytesTotal);
        } catch (IOException | UncheckedIOException e) {
            throw cannotWrite(w.out, e);
        }
    }

    /** Streams the model file; its size is known up front, so a tensor that wrote a wrong count is caught. */
    private void writePieces(List<ProtoPiece> pieces, Path file) throws IOException {
        long expected = 0;
        for (ProtoPiece p : pieces) {
            expected += p.size();
        }
        if (!external && expected > Integer.MAX_VALUE) {
            throw new ModelFormatException(out, "the model would be " + expected
                    + " bytes, over protobuf's 2 GiB limit; write the weights as external data");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ProtoPiece.Sink sink = new ProtoPiece.Sink(ch, options.progress());
            for (ProtoPiece p : pieces) {
                p.writeTo(sink);
            }
            sink.coded.flush();
            if (ch.position() != expected) {
                throw new IOException("wrote " + ch.position() + " bytes where the framing says " + expected);
            }
        }
    }

    /** One message for every I/O failure while writing, naming the output. */
    private static ModelFormatException cannotWrite(Path out, Exception e) {
        String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
        return new ModelFormatException(out, "cannot write: " + why, e);
    }

    /**
     * Whether every tensor that would go to a data file can name its content, so that a {@link DataSpool} of this
     * model can be adopted by a write of another model read from the same file (not whether it is written with
     * external data: that also depends on the conversion still to come).
     */
    public static boolean spoolable(Model model, WriteOptions options) {
        return DataFileWriter.allNameTheirContent(DataFileWriter.externalInitializers(model.graph(), options));
    }
}
