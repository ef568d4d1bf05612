package io.onnxslanc.io;

import io.onnxslanc.ir.Graph;
import io.onnxslanc.ir.Model;
import io.onnxslanc.ir.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
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

    /** Writes {@code model} to {@code out}; returns the data file written (see {@link #write(Model, Path, WriteOptions, Spool)}). */
    public static Path write(Model model, Path out) {
        return write(model, out, WriteOptions.defaults());
    }

    /** Writes {@code model} to {@code out}; returns the data file written (see {@link #write(Model, Path, WriteOptions, Spool)}). */
    public static Path write(Model model, Path out, WriteOptions options) {
        return write(model, out, options, null);
    }

    /**
     * Writes {@code model}, taking over {@code spool} when it holds exactly what this write would produce: a
     * {@link DataSpool} with the same external tensors (same names, same content keys, same order and layout), or
     * a {@link HeadSpool} with the same head; otherwise the spool is deleted and everything written here. Either
     * way the files are the same as without a spool. An inline model written with a {@link HeadSpool}, adopted or
     * not, has the weights-first layout ({@link ProtoEncoder.WeightsFirst}).
     *
     * @return the external data file actually written, or null when everything went inline; it is
     *         {@link WriteOptions#dataFile} of {@code out} unless that existed (an earlier pair being replaced), in
     *         which case the new data went under a fresh name so that a kill leaves the old pair or the new one whole
     */
    public static Path write(Model model, Path out, WriteOptions options, Spool spool) {
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
    private Path run(Model model, Spool spool) {
        Path modelTemp = null;
        try (DataFileWriter data = new DataFileWriter(out, options)) {
            Files.createDirectories(out.getParent());
            options.progress().begin("writing " + out.getFileName(), bytesTotal);
            DataSpool dataSpool = external && spool instanceof DataSpool d ? d : null;
            HeadSpool headSpool = !external && spool instanceof HeadSpool h ? h : null;
            if (spool != null && dataSpool == null && headSpool == null) {
                spool.close(); // spooled for the other kind of output: no use here
            }
            WriteTargets inputs = WriteTargets.of(null, model);
            inputs.check(out, "output");
            TempFiles.cleanStale(out);
            if (external) {
                data.writeOrAdopt(DataFileWriter.externalInitializers(model.graph(), options), inputs, dataSpool);
            }
            if (headSpool != null) {
                ProtoEncoder.WeightsFirst layout = new ProtoEncoder(Map.of(), null)
                        .weightsFirst(model, leadWeights(model.graph(), options));
                boolean adopt = headSpool.matches(out, layout);
                if (!adopt) {
                    headSpool.close(); // the head changed after spooling: the whole file is written here
                }
                modelTemp = adopt ? headSpool.adopt() : TempFiles.beside(out);
                writeWeightsFirst(layout, modelTemp, adopt);
            } else {
                Map<Value, Long> offsets = data.offsets();
                List<ProtoPiece> pieces = new ProtoEncoder(offsets, external ? data.writtenName() : null).modelPieces(model);
                modelTemp = TempFiles.beside(out);
                writePieces(pieces, modelTemp);
            }
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
     * Writes the weights of {@code model} now, into a temp file beside {@code out}, so that they can be produced
     * while other work (SLaNC's arithmetic) goes on: the external data file ({@link DataSpool}) when these options
     * write one, else the head of the inline model with its {@link #leadWeights} ({@link HeadSpool});
     * {@link #write(Model, Path, WriteOptions, Spool)} adopts it when the model it writes would write the same.
     * Null (nothing written) when a tensor of the data file, or every lead weight, cannot name its content
     * ({@link io.onnxslanc.ir.Tensor#contentKey()}: weights stored inside the .onnx, tensors built in memory), since
     * such a spool could never be adopted. Interrupting the calling thread stops the spool and deletes its file.
     */
    public static Spool spool(Model model, Path out, WriteOptions options) {
        ModelWriter w = new ModelWriter(model, out, options);
        if (!w.external) {
            List<Value> lead = leadWeights(model.graph(), options);
            return lead.isEmpty() ? null : w.spoolHead(model, lead);
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

    /** Writes the head of {@code model}'s weights-first layout into a temp file beside the output. */
    private HeadSpool spoolHead(Model model, List<Value> lead) {
        Path temp = null;
        try {
            Files.createDirectories(out.getParent());
            ProtoEncoder.WeightsFirst layout = new ProtoEncoder(Map.of(), null).weightsFirst(model, lead);
            checkInlineSize(layout.size());
            temp = TempFiles.beside(out);
            options.progress().begin("writing " + out.getFileName(), bytesTotal);
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeAt(ch, 0, layout.head(), layout.headSize());
            }
            options.progress().end();
            HeadSpool spool = new HeadSpool(out, layout.signature(), layout.headSize(), temp);
            temp = null;
            return spool;
        } catch (IOException | UncheckedIOException e) {
            throw cannotWrite(out, e);
        } finally {
            TempFiles.deleteQuietly(temp);
        }
    }

    /**
     * Writes {@code layout} into {@code file}: the tail after the head already there ({@code headWritten}), or
     * the whole of it; then the graph's length into its five bytes.
     */
    private void writeWeightsFirst(ProtoEncoder.WeightsFirst layout, Path file, boolean headWritten) throws IOException {
        checkInlineSize(layout.size());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            long start = headWritten ? layout.headSize() : 0;
            if (ch.size() != start) {
                throw new IOException("the model's head is " + ch.size() + " bytes where " + start + " were written");
            }
            if (headWritten) {
                options.progress().advance(layout.headSize());
            } else {
                writeAt(ch, 0, layout.head(), layout.headSize());
            }
            writeAt(ch, layout.headSize(), layout.tail(), layout.size());
            ByteBuffer length = ByteBuffer.wrap(ProtoPiece.paddedLength(layout.graphLength()));
            while (length.hasRemaining()) {
                ch.write(length, layout.lengthAt() + length.position());
            }
        }
    }

    /**
     * The top-level initializers that lead an inline model in the weights-first layout: those the external data
     * would take ({@link WriteOptions#sizeThreshold}) that can name their content, in graph order.
     */
    static List<Value> leadWeights(Graph g, WriteOptions options) {
        return g.initializers().stream()
                .filter(v -> DataFileWriter.goesExternal(v.constant(), options) && v.constant().contentKey().isPresent())
                .toList();
    }

    /** Bytes of {@link #leadWeights}: what a {@link HeadSpool} of this model would stream ahead. */
    public static long leadWeightBytes(Model model, WriteOptions options) {
        return leadWeights(model.graph(), options).stream().mapToLong(v -> v.constant().byteSize()).sum();
    }

    private void checkInlineSize(long expected) {
        if (expected > Integer.MAX_VALUE) {
            throw new ModelFormatException(out, "the model would be " + expected
                    + " bytes, over protobuf's 2 GiB limit; write the weights as external data");
        }
    }

    /** Streams the model file; its size is known up front, so a tensor that wrote a wrong count is caught. */
    private void writePieces(List<ProtoPiece> pieces, Path file) throws IOException {
        long expected = 0;
        for (ProtoPiece p : pieces) {
            expected += p.size();
        }
        if (!external) {
            checkInlineSize(expected);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            writeAt(ch, 0, pieces, expected);
        }
    }

    /**
     * Writes {@code pieces} into {@code ch} from {@code start}; the framing says where they end, so a tensor that
     * wrote a wrong count is caught.
     */
    private void writeAt(FileChannel ch, long start, List<ProtoPiece> pieces, long end) throws IOException {
        ch.position(start);
        ProtoPiece.Sink sink = new ProtoPiece.Sink(ch, options.progress());
        for (ProtoPiece p : pieces) {
            p.writeTo(sink);
        }
        sink.coded.flush();
        if (ch.position() != end) {
            throw new IOException("wrote " + ch.position() + " bytes where the framing says " + end);
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
