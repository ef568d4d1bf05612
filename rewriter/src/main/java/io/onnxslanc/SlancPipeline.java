package io.onnxslanc;

import io.onnxslanc.calibrate.CalibrationReport;
import io.onnxslanc.calibrate.SlancOptions;
import io.onnxslanc.convert.ConversionReport;
import io.onnxslanc.convert.Fp16Converter;
import io.onnxslanc.convert.Fp16Options;
import io.onnxslanc.io.DataSpool;
import io.onnxslanc.io.SpooledWrite;
import io.onnxslanc.io.ModelReader;
import io.onnxslanc.io.ModelWriter;
import io.onnxslanc.io.WriteOptions;
import io.onnxslanc.ir.Model;
import java.nio.file.Path;

/**
 * read -> calibrate -> convert -> write for a model read from a file, with the weights streamed only once where it
 * matters: SLaNC never changes a weight, so the external data file of the output is fixed before the scales are
 * known. When the input keeps its weights in external data files and the output gets one (see
 * {@link ModelWriter#spoolable}), a second, weight-less copy of the graph (the .onnx is parsed again; weights
 * stay in their files) is converted the same way and its data file written on a background thread while SLaNC's
 * arithmetic reads the same weights, mostly from the page cache the writer fills. The final write adopts that
 * file when its tensors match tensor for tensor (see {@link DataSpool}), otherwise it writes the data itself: the
 * output files are byte-identical either way. The background thread lives in {@link SpooledWrite}.
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

    private SlancPipeline() {
    }

    /**
     * Runs SLaNC ({@code slanc} non-null), then the FP16 conversion ({@code fp16} non-null) on {@code model}, read
     * from {@code in}, and writes it to {@code out}. Nothing is left at {@code out} when a step fails; the input is
     * never changed.
     */
    public static Result run(Model model, Path in, Path out, SlancOptions slanc, Fp16Options fp16, WriteOptions write) {
        // 1. read: the twin whose data file is written while SLaNC computes (null: nothing worth streaming ahead)
        Model twin = null;
        ConversionReport twinConversion = null;
        // a model whose weights already fit inline needs no twin: conversion only shrinks them (a second parse of
        // a 200k-node graph costs seconds)
        if (slanc != null && !slanc.dryRun() && ModelWriter.writesExternalData(model, write)
                && ModelWriter.spoolable(model, write)) {
            twin = ModelReader.read(in);
            twinConversion = fp16 == null ? null : Fp16Converter.convert(twin, fp16); // option errors surface here
            twin.graph().cleanup();
            if (!ModelWriter.writesExternalData(twin, write)) {
                twin = null; // everything inline: nothing worth streaming ahead
            }
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
