"""Every fitted number of a calibration in one table: what, which, value, interval, method."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from sim.analysis.calibration.calibrate import Calibration
from sim.analysis.calibration.fitting import Fit
from sim.analysis.calibration.spec import distribution_spec

COLUMNS = ("what", "quantity", "value", "mean", "low", "high", "n", "method")


def _value(fit: Fit) -> str:
    spec = distribution_spec(fit.distribution)
    if isinstance(spec, dict) and spec.get("type") == "empirical":
        return f"empirical ({len(spec['values'])} points)"
    return json.dumps(spec, ensure_ascii=False) if isinstance(spec, dict) else f"{spec:g}"


def _fit_row(what: str, quantity: str, fit: Fit) -> dict:
    low, high = fit.intervals.get("mean", (np.nan, np.nan))
    interval = fit.interval_text()
    return {
        "what": what,
        "quantity": quantity,
        "value": _value(fit),
        "mean": float(fit.distribution.mean),
        "low": low,
        "high": high,
        "n": fit.n,
        "method": fit.method + (f"; {interval}" if interval else ""),
    }


def fitted_numbers(calibration: Calibration) -> pd.DataFrame:
    """One row a fitted number (module doc)."""
    rows = []
    data = calibration.procedure_data
    arrivals = calibration.arrivals
    rows.append(
        {
            "what": data["id"],
            "quantity": "arrivals_per_day",
            "value": f"{arrivals.rate:.4g}",
            "mean": arrivals.rate,
            "low": arrivals.low,
            "high": arrivals.high,
            "n": arrivals.cases,
            "method": f"cases over {arrivals.days:.1f} working days, exact Poisson interval",
        }
    )
    rows.append(
        {
            "what": data["id"],
            "quantity": "target_working_days",
            "value": f"{data['target']['working_days']:g}",
            "mean": float(data["target"]["working_days"]),
            "low": np.nan,
            "high": np.nan,
            "n": len(calibration.training),
            "method": data["target"]["source"],
        }
    )
    for agency in calibration.scenario_data["agencies"]:
        rows.append(
            {
                "what": agency["id"],
                "quantity": "staff",
                "value": str(agency["staff"]),
                "mean": float(agency["staff"]) if agency["staff"] != "unlimited" else np.nan,
                "low": np.nan,
                "high": np.nan,
                "n": np.nan,
                "method": agency["source"],
            }
        )
    for step, fit in calibration.steps.items():
        rows.append(_fit_row(step, "handling", fit.handling))
        if fit.waiting is not None:
            rows.append(_fit_row(step, "waiting", fit.waiting))
        low, high = fit.send_back_interval
        rows.append(
            {
                "what": step,
                "quantity": "send_back_share",
                "value": f"{fit.send_back:.4g}",
                "mean": fit.send_back,
                "low": low,
                "high": high,
                "n": fit.executions,
                "method": "repeats among all submissions, Clopper-Pearson interval",
            }
        )
        if fit.response is not None:
            rows.append(_fit_row(step, "response", fit.response))
    for attribute in data.get("attributes", []):
        if not str(attribute.get("source", "")).startswith("fitted from"):
            continue  # a procedure file's own attribute, not fitted
        value = (
            attribute.get("shares") or attribute.get("probability") or attribute.get("distribution")
        )
        rows.append(
            {
                "what": attribute["id"],
                "quantity": f"attribute ({attribute['kind']})",
                "value": json.dumps(value, ensure_ascii=False)
                if not isinstance(value, float)
                else f"{value:g}",
                "mean": np.nan,
                "low": np.nan,
                "high": np.nan,
                "n": np.nan,
                "method": attribute["source"],
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
