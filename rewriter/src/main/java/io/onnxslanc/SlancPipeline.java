package io.onnxslanc;

import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.DataSpool;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * calibrate -> convert -> write for a model read from a file, with the weights streamed only once where it
 * matters: SLaNC never changes a weight, so the external data file of the output is fixed before the scales are
 * known. When the input keeps its weights in external data files and the output gets one (see
 * {@link ModelWriter#spoolable}), a second, weight-less copy of the graph (the .onnx is parsed again; weights
 * stay in their files) is converted the same way and its data file written on a background thread while SLaNC's
 * arithmetic reads the same weights, mostly from the page cache the writer fills. The final write adopts that file when its tensors
 * match tensor for tensor (see {@link DataSpool}), otherwise it writes the data itself: the output files are
 * byte-identical either way.
 *
 * <pre>{@code
 * Model model = ModelReader.read(in);
 * SlancPipeline.Result r = SlancPipeline.run(model, in, out, SlancOptions.defaults(), Fp16Options.defaults(),
 *         WriteOptions.defaults());
 * }</pre>
 */
public final class SlancPipeline {

    /**
     * What was done.
     *
     * @param calibration null when SLaNC was not asked for
     * @param conversion  null when the FP16 conversion was not asked for
     * @param dataSpooled whether the data file was written while SLaNC computed (false: written after it)
     * @param dataFile    the external data file written (its name may be the fresh variant used when an earlier
     *                    output pair is replaced); null when everything went inline
     */
    public record Result(CalibrationReport calibration, ConversionReport conversion, boolean dataSpooled, Path dataFile) {
        /** A result whose data file is not known (or none was written). */
        public Result(CalibrationReport calibration, ConversionReport conversion, boolean dataSpooled) {
            this(calibration, conversion, dataSpooled, null);
        }
    }

    /** A write failure on the background thread, carried to the caller. */
    private static final class SpoolFailure extends RuntimeException {
        SpoolFailure(Throwable cause) {
            super(cause);
        }
    }

    private SlancPipeline() {
    }

    /**
     * Runs SLaNC ({@code slanc} non-null), then the FP16 conversion ({@code fp16} non-null) on {@code model}, read
     * from {@code in}, and writes it to {@code out}. Nothing is left at {@code out} when a step fails; the input is
     * never changed.
     */
    public static Result run(Model model, Path in, Path out, SlancOptions slanc, Fp16Options fp16, WriteOptions write) {
        Model twin = null;
        ConversionReport twinConversion = null;
        if (slanc != null && !slanc.dryRun() && ModelWriter.spoolable(model, write)) {
            twin = ModelReader.read(in);
            twinConversion = fp16 == null ? null : Fp16Converter.convert(twin, fp16); // option errors surface here
            twin.graph().cleanup();
            if (!ModelWriter.writesExternalData(twin, write)) {
                twin = null; // everything inline: nothing worth streaming ahead
            }
        }
        Thread writer = null;
        CompletableFuture<DataSpool> spooling = null;
        if (twin != null) {
            Model spoolModel = twin;
            CompletableFuture<DataSpool> result = new CompletableFuture<>();
            writer = new Thread(() -> {
                try {
                    result.complete(ModelWriter.spool(spoolModel, out, write));
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            }, "slanc-data-spool");
            writer.setDaemon(true);
            writer.start();
            spooling = result;
        }
        DataSpool spool = null;
        try {
            CalibrationReport calibration = slanc == null ? null : Slanc.calibrate(model, slanc);
            ConversionReport conversion = fp16 == null ? null : Fp16Converter.convert(model, fp16);
            if (calibration != null || conversion != null) {
                model.graph().cleanup(); // constants the rewrites replaced (old epsilons, FP32 twins) are not written
            }
            spool = spooling == null ? null : await(spooling);
            Path dataFile = ModelWriter.write(model, out, write, spool);
            boolean spooled = spool != null && spool.adopted();
            if (spooled && conversion != null && twinConversion != null) {
                conversion.adoptClampCounts(twinConversion); // the bytes written are the twin's conversion
            }
            return new Result(calibration, conversion, spooled, dataFile);
        } finally {
            if (spooling != null && spool == null) {
                writer.interrupt(); // a failure before the write: stop streaming, wait until its file is deleted
                try {
                    DataSpool late = await(spooling);
                    if (late != null) {
                        late.close();
                    }
                } catch (RuntimeException ignored) {
                    // it failed on the interrupt and deleted its file
                }
            }
            if (spool != null) {
                spool.close(); // no-op once adopted
            }
        }
    }

    /** The spool's result; its exceptions are rethrown as they were thrown (unchecked ones unwrapped). */
    private static DataSpool await(Future<DataSpool> f) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new SpoolFailure(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
