package io.onnxslanc.calibrate;

/** The model's weights cannot be calibrated (NaN or infinite values, ...); the message names the norm and weight. */
public final class CalibrationException extends RuntimeException {
    public CalibrationException(String message, Throwable cause) {
        super(message, cause);
    }

    public CalibrationException(String message) {
        super(message);
    }
}
