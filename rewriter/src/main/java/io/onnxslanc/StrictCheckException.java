package io.onnxslanc;

import io.onnxslanc.calibrate.CalibrationReport;

/**
 * {@code --strict} refused the result: norms left unscaled (other than first norms), or norm-like candidates in a
 * model where no norm matched. Carries the report, so a caller can still print the table that explains why.
 */
public final class StrictCheckException extends RuntimeException {
    private final transient CalibrationReport report;

    public StrictCheckException(CalibrationReport report) {
        super("--strict: " + report.strictViolations() + " norm" + (report.strictViolations() == 1 ? "" : "s")
                + " or norm-like candidate" + (report.strictViolations() == 1 ? "" : "s") + " not scaled ("
                + report.summary() + ")");
        this.report = report;
    }

    public CalibrationReport report() {
        return report;
    }
}
