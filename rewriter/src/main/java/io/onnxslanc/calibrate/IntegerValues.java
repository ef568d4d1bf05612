package io.onnxslanc.calibrate;

import io.onnxslanc.ir.Value;

/**
 * The integer contents of a value when they are known without running the model: the one place the block walks
 * ask for Slice / Split bounds, Reshape targets and the like. {@link ShapeArithmetic} folds the shape arithmetic
 * exporters write; a general constant folder can take its place behind this interface.
 */
interface IntegerValues {

    /** The values in row-major order, or null when they are not known statically. */
    long[] longs(Value v);
}
