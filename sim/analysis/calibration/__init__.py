"""Calibration: fitting a procedure and scenario to case records, and measuring the fit.

`calibrate.calibrate_records` reads nothing and writes nothing: it takes records
(`sim.inputs.records`) and returns the fitted objects; `evaluation.evaluate` simulates
the held-back period and compares; `sim.output.fit_report` writes files and the report.
The method is described in docs/calibration.md.
"""
