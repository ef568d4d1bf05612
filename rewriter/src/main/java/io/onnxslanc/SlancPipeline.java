package io.onnxslanc;

import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.SpooledWrite;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import java.nio.file.Path;

/**
 * read -> calibrate -> convert -> write for a model read from a file, with the weights streamed only once where it
 * matters: SLaNC never changes a weight, so the weights of the output are fixed before the scales are known. When
 * the input keeps its weights in external data files (see {@link ModelWriter#spoolable}) and the output gets one,
 * or is inline with at least {@link #INLINE_SPOOL_MIN_BYTES} of them, a second, weight-less copy of the graph (the
 * .onnx is parsed again; weights stay in their files) is converted the same way and its weights written on a
 * background thread while SLaNC's arithmetic reads the same weights, mostly from the page cache the writer fills:
 * the data file ({@link io.onnxslanc.io.DataSpool}), or the head of the inline file, which then has its weights
 * before the graph's structure ({@link io.onnxslanc.io.HeadSpool}). The final write adopts what was spooled when
 * it is still exact, otherwise it writes everything itself: the output files are byte-identical either way. The
 * background thread lives in {@link SpooledWrite}.
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
     * @param dataSpooled whether the weights (the data file, or the head of an inline model) were written while SLaNC
     *                    computed (false: written after it)
     * @param dataFile    the external data file written (its name may be the fresh variant used when an earlier
     *                    output pair is replaced); null when everything went inline
     */
    public record Result(CalibrationReport calibration, ConversionReport conversion, boolean dataSpooled, Path dataFile) {
        /** A result whose data file is not known (or none was written). */
        public Result(CalibrationReport calibration, ConversionReport conversion, boolean dataSpooled) {
            this(calibration, conversion, dataSpooled, null);
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
        return run(model, in, out, slanc, fp16, write, INLINE_SPOOL_MIN_BYTES);
    }

    /**
     * Weights in external data files that an inline output streams ahead of its graph only from this size on: below
     * it the second parse of the graph costs more than the overlap saves, and the file keeps protobuf's own layout.
     */
    static final long INLINE_SPOOL_MIN_BYTES = 64L << 20;

    /** {@link #run}, streaming an inline output's weights ahead from {@code inlineSpoolMinBytes} of them on. */
    static Result run(Model model, Path in, Path out, SlancOptions slanc, Fp16Options fp16, WriteOptions write,
                      long inlineSpoolMinBytes) {
        // 1. read: the twin whose weights are written while SLaNC computes (null: nothing worth streaming ahead)
        Model twin = null;
        ConversionReport twinConversion = null;
        // a small model needs no twin (a second parse of a 200k-node graph costs seconds); a big one streams its
        // external data file, or the head of its inline file (see HeadSpool), while SLaNC computes
        if (slanc != null && !slanc.dryRun() && ModelWriter.spoolable(model, write)
                && (ModelWriter.writesExternalData(model, write)
                || ModelWriter.leadWeightBytes(model, write) >= inlineSpoolMinBytes)) {
            twin = ModelReader.read(in);
            twinConversion = fp16 == null ? null : Fp16Converter.convert(twin, fp16); // option errors surface here
            twin.graph().cleanup();
        }
        try (SpooledWrite writer = SpooledWrite.start(twin, out, write)) {
            // 2. calibrate and rewrite
            CalibrationReport calibration = slanc == null ? null : Slanc.calibrate(model, slanc);
            // 3. convert
            ConversionReport conversion = fp16 == null ? null : Fp16Converter.convert(model, fp16);
            if (calibration != null || conversion != null) {
                model.graph().cleanup(); // constants the rewrites replaced (old epsilons, FP32 twins) are not written
            }
            // 4. write
            SpooledWrite.Written written = writer.write(model);
            if (written.spooled() && conversion != null && twinConversion != null) {
                conversion.adoptClampCounts(twinConversion); // the bytes written are the twin's conversion
            }
            return new Result(calibration, conversion, written.spooled(), written.dataFile());
        }
    }
}
