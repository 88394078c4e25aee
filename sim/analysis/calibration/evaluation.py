"""How well a fitted model reproduces the records it did not see (the fit report's numbers).

The fitted scenario is run over the held-back period (its replications), and the
simulated step executions go through the same steps as the records: cut at the end of
the export, put on the records' clock, cases found open by the same rule, held-back cases
chosen by their first event. Then, for the closed held-back cases against the simulated
ones: the cycle-time distributions (working and calendar days), their 1-D Wasserstein
distance (W1) and Kolmogorov-Smirnov statistic, mean, median and 90th percentile with
intervals, the share within the target (or the records' own deadlines), each step's
time from ready to done, the arrivals per week, and the send-back rates. The *naive
predictor* is the training period's own figures, as if the future were the past: the
simulation adds something where it is closer to the held-back records than that.

Intervals: records and naive, over cases (t for means, order statistics for
percentiles, Wilson for shares, Clopper-Pearson for send-backs); simulation, across
replications (t). W1 and KS carry a bootstrap interval over the held-back cases and a
*noise floor*: what the distance is between the simulation and samples of the held-back
size drawn from the simulation itself (its 95th percentile), i.e. what sampling alone
gives. A figure is called poor when the records' and the simulation's intervals do not
overlap, or a distance exceeds its noise floor with a KS p-value below 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.calibration import timeline
from sim.analysis.calibration.calibrate import Calibration
from sim.analysis.calibration.period import open_cases
from sim.analysis.calibration.steps import send_back_rate
from sim.analysis.intervals import quantile_interval, t_interval, wilson_interval
from sim.run.experiment import RunResult, run_experiment

BOOTSTRAP = 200
NOISE_DRAWS = 200
POOR_P = 0.01
MEASURES = ("mean", "median", "p90", "share_within_target")


@dataclass(frozen=True)
class Evaluation:
    """The fit report's tables (pandas DataFrames) and the samples behind its figures.

    Attributes:
        calibration: What was fitted.
        run: The simulation of the held-back period.
        summary: Rows per ``unit`` (``working_days``, ``calendar_days``) and ``measure``
            (mean, median, p90, share_within_target, w1, ks): ``records``,
            ``simulated`` and ``naive`` with ``_low``/``_high``, ``noise`` (distances'
            noise floor), ``p_value`` (KS) and ``verdict`` (``good``/``poor``/empty).
        steps: One row a step: time from ready to done (median with interval) and
            send-back rate, records against simulated and naive, with verdicts.
        arrivals: One row a week of the held-back period: records, simulated mean and
            interval, naive.
        samples: Cycle times: ``records``, ``simulated``, ``naive`` (working days) and
            the same with ``_calendar`` (calendar days).
        step_samples: Per step, the times from ready to done (records, simulated).
        findings: Counts (cases compared, open cases on either side, ...).
    """

    calibration: Calibration
    run: RunResult
    summary: pd.DataFrame
    steps: pd.DataFrame
    arrivals: pd.DataFrame
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    step_samples: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- simulation


def simulate(
    calibration: Calibration,
    replications: int | None = None,
    executor: str = "serial",
    workers: int | None = None,
) -> RunResult:
    """Run the fitted scenario (every replication keeps its steps)."""
    return run_experiment(
        calibration.scenario,
        replications=replications,
        executor=executor,
        workers=workers,
        steps="all",
    )


def simulated_frame(calibration: Calibration, run: RunResult) -> pd.DataFrame:
    """The simulated step executions as the records would show them (module doc)."""
    steps = run.steps
    steps = steps[steps["outcome"] != "revoked"]
    offset = float(calibration.calendar.clock_of(calibration.scenario.calendar.start_date))
    timed = bool(calibration.frame["start"].notna().any())
    frame = pd.DataFrame(
        {
            "case": steps["replication"].astype(str).to_numpy()
            + "/"
            + steps["case_id"].astype(str).to_numpy(),
            "step": steps["step"].astype(str).to_numpy(),
            "start": steps["start_day"].to_numpy(float) + offset if timed else np.nan,
            "end": steps["end_day"].to_numpy(float) + offset,
            "agency": steps["agency"].astype(str).to_numpy(),
        }
    )
    frame = frame[frame["end"] <= calibration.export_end + 1e-9]
    # Steps the records lack (a procedure file's unmatched steps) are not in the records.
    frame = frame[frame["step"].isin(calibration.structure.names)]
    return timeline.prepare(frame)


# --------------------------------------------------------------------------- measures


def _cycles(calibration: Calibration, cases: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    working = cases["cycle"].to_numpy(float)
    days = calibration.calendar.calendar_days
    calendar = np.asarray(days(cases["last"].to_numpy(float))) - np.asarray(
        days(cases["first"].to_numpy(float))
    )
    return working, calendar


def _measures(values: np.ndarray, within: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Case-level figures with case-level intervals."""
    found = {"mean": t_interval(values), "median": quantile_interval(values, 0.5)}
    found["p90"] = quantile_interval(values, 0.9)
    valid = within[~np.isnan(within)]
    if valid.size:
        low, high = wilson_interval(float(valid.sum()), float(valid.size))
        found["share_within_target"] = (float(valid.mean()), low, high)
    else:
        found["share_within_target"] = (np.nan, np.nan, np.nan)
    return found


def _point(values: np.ndarray, within: np.ndarray) -> dict[str, float]:
    valid = within[~np.isnan(within)]
    return {
        "mean": float(np.mean(values)) if values.size else np.nan,
        "median": float(np.median(values)) if values.size else np.nan,
        "p90": float(np.quantile(values, 0.9)) if values.size else np.nan,
        "share_within_target": float(valid.mean()) if valid.size else np.nan,
    }


def w1_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The 1-D Wasserstein distance between two sorted samples (area between their CDFs)."""
    values = np.sort(np.concatenate([a, b]))
    below_a = np.searchsorted(a, values[:-1], side="right") / a.size
    below_b = np.searchsorted(b, values[:-1], side="right") / b.size
    return float(np.sum(np.abs(below_a - below_b) * np.diff(values)))


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic of two sorted samples."""
    values = np.concatenate([a, b])
    below_a = np.searchsorted(a, values, side="right") / a.size
    below_b = np.searchsorted(b, values, side="right") / b.size
    return float(np.max(np.abs(below_a - below_b)))


def _distance_row(records: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> dict:
    """W1 and KS between records and another sample, bootstrap intervals and noise floors."""
    if records.size == 0 or other.size == 0:
        return {}
    records, other = np.sort(records), np.sort(other)
    w1 = w1_distance(records, other)
    ks = ks_statistic(records, other)
    boot_w1, boot_ks, noise_w1, noise_ks = [], [], [], []
    for _ in range(BOOTSTRAP):
        sample = np.sort(rng.choice(records, records.size))
        boot_w1.append(w1_distance(sample, other))
        boot_ks.append(ks_statistic(sample, other))
    for _ in range(NOISE_DRAWS):
        sample = np.sort(rng.choice(other, records.size))
        noise_w1.append(w1_distance(sample, other))
        noise_ks.append(ks_statistic(sample, other))
    return {
        "w1": (w1, *np.percentile(boot_w1, [2.5, 97.5]), float(np.percentile(noise_w1, 95))),
        "ks": (ks, *np.percentile(boot_ks, [2.5, 97.5]), float(np.percentile(noise_ks, 95))),
        "p_value": float(stats.ks_2samp(records, other).pvalue),
    }


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool | None:
    if any(np.isnan(v) for v in (*a, *b)):
        return None
    return a[0] <= b[1] and b[0] <= a[1]


def _summary(
    calibration: Calibration,
    records: pd.DataFrame,
    simulated: pd.DataFrame,
    naive: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    target = calibration.procedure.target_days
    deadlines = calibration.records.cases.get("deadline_days")
    own = (
        pd.to_numeric(deadlines.reindex(records.index), errors="coerce").to_numpy(float)
        if deadlines is not None
        else np.full(len(records), target)
    )
    own = np.where(np.isnan(own), target, own)
    rows = []
    samples: dict[str, np.ndarray] = {}
    for unit in ("working_days", "calendar_days"):
        column = 0 if unit == "working_days" else 1
        rec = _cycles(calibration, records)[column]
        sim = _cycles(calibration, simulated)[column]
        nai = _cycles(calibration, naive)[column]
        suffix = "" if unit == "working_days" else "_calendar"
        samples[f"records{suffix}"], samples[f"simulated{suffix}"], samples[f"naive{suffix}"] = (
            rec,
            sim,
            nai,
        )
        limit_records = own if unit == "working_days" else np.full(len(rec), np.nan)
        limit = target if unit == "working_days" else np.nan
        found_records = _measures(rec, _within(rec, limit_records))
        found_naive = _measures(nai, _within(nai, np.full(len(nai), limit)))
        per_replication = _per_replication(simulated, sim, limit)
        for measure in MEASURES:
            if unit == "calendar_days" and measure == "share_within_target":
                continue
            value, low, high = found_records[measure]
            simulated_value, simulated_low, simulated_high = per_replication[measure]
            naive_value, naive_low, naive_high = found_naive[measure]
            fits = _overlap((low, high), (simulated_low, simulated_high))
            rows.append(
                {
                    "unit": unit,
                    "measure": measure,
                    "records": value,
                    "records_low": low,
                    "records_high": high,
                    "simulated": simulated_value,
                    "simulated_low": simulated_low,
                    "simulated_high": simulated_high,
                    "naive": naive_value,
                    "naive_low": naive_low,
                    "naive_high": naive_high,
                    "noise": np.nan,
                    "naive_noise": np.nan,
                    "p_value": np.nan,
                    "naive_p_value": np.nan,
                    "verdict": "" if fits is None else ("good" if fits else "poor"),
                }
            )
        against_sim = _distance_row(rec, sim, rng)
        against_naive = _distance_row(rec, nai, rng)
        for measure in ("w1", "ks"):
            if not against_sim:
                continue
            value, low, high, noise = against_sim[measure]
            naive_row = against_naive.get(measure, (np.nan,) * 4)
            poor = value > noise and against_sim["p_value"] < POOR_P
            rows.append(
                {
                    "unit": unit,
                    "measure": measure,
                    "records": np.nan,
                    "records_low": np.nan,
                    "records_high": np.nan,
                    "simulated": value,
                    "simulated_low": low,
                    "simulated_high": high,
                    "naive": naive_row[0],
                    "naive_low": naive_row[1],
                    "naive_high": naive_row[2],
                    "noise": noise,
                    "naive_noise": naive_row[3],
                    "p_value": against_sim["p_value"],
                    "naive_p_value": against_naive.get("p_value", np.nan),
                    "verdict": "poor" if poor else "good",
                }
            )
    return pd.DataFrame(rows), samples


def _within(values: np.ndarray, limits: np.ndarray) -> np.ndarray:
    result = (values <= limits).astype(float)
    result[np.isnan(limits)] = np.nan
    return result


def _per_replication(cases: pd.DataFrame, cycles: np.ndarray, limit: float) -> dict[str, tuple]:
    """Each figure across replications (t interval); per case when there is one replication."""
    replication = cases.index.to_series().str.split("/", n=1).str[0].to_numpy()
    groups = pd.unique(replication)
    within = _within(cycles, np.full(cycles.size, limit))
    if len(groups) < 2:
        return _measures(cycles, within)
    points = [_point(cycles[replication == g], within[replication == g]) for g in groups]
    found = {m: t_interval([p[m] for p in points]) for m in MEASURES}
    # A t interval of few replications can reach below zero, or above one for a share.
    share = found["share_within_target"]
    found["share_within_target"] = (share[0], max(share[1], 0.0), min(share[2], 1.0))
    return {m: (v, max(low, 0.0), high) for m, (v, low, high) in found.items()}


# --------------------------------------------------------------------------- steps


def _step_times(calibration: Calibration, frame: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """Per case and step: working days from ready to the step's last end; repeats."""
    frame = frame[frame["case"].isin(cases.index)]
    if frame.empty:
        return pd.DataFrame(columns=["case", "step", "elapsed", "executions"])
    ready, _ = timeline.ready_times(frame, calibration.structure.ancestors(), cases["first"])
    frame = frame.assign(ready=ready)
    grouped = frame.groupby(["case", "step"], sort=False)
    table = pd.DataFrame(
        {
            "ready": grouped["ready"].first(),
            "done": grouped["end"].max(),
            "executions": grouped.size(),
        }
    ).reset_index()
    table["elapsed"] = np.maximum(table["done"] - table["ready"], 0.0)
    return table


def _steps(calibration, times, totals) -> tuple[pd.DataFrame, dict]:
    """Per step: time from ready to done, send-backs and the share of cases taking it.

    Args:
        calibration: The calibration.
        times: ``records``, ``simulated`` and ``naive`` tables of `_step_times`.
        totals: For each, its closed cases and how many they are.
    """
    rows = []
    samples = {}
    for step in calibration.structure.ids:
        if step not in calibration.steps:
            continue
        parts = {name: table[table["step"] == step] for name, table in times.items()}
        row = {"step": step, "name": calibration.structure.names.get(step, step)}
        for name, part in parts.items():
            closed, total = totals[name]
            taking = int(part["case"].isin(closed).sum())
            row[f"{name}_share"] = taking / total if total else np.nan
            values = part["elapsed"].to_numpy(float)
            median, low, high = quantile_interval(values, 0.5) if values.size else (np.nan,) * 3
            executions = int(part["executions"].sum())
            rate, rate_low, rate_high = send_back_rate(executions - len(part), len(part))
            row.update(
                {
                    f"{name}_cases": len(part),
                    f"{name}_median": median,
                    f"{name}_median_low": low,
                    f"{name}_median_high": high,
                    f"{name}_mean": float(values.mean()) if values.size else np.nan,
                    f"{name}_send_back": rate,
                    f"{name}_send_back_low": rate_low,
                    f"{name}_send_back_high": rate_high,
                }
            )
        rec = parts["records"]["elapsed"].to_numpy(float)
        sim = parts["simulated"]["elapsed"].to_numpy(float)
        samples[step] = {"records": rec, "simulated": sim}
        p_value = float(stats.ks_2samp(rec, sim).pvalue) if rec.size and sim.size else np.nan
        durations = _overlap(
            (row["records_median_low"], row["records_median_high"]),
            (row["simulated_median_low"], row["simulated_median_high"]),
        )
        backs = _overlap(
            (row["records_send_back_low"], row["records_send_back_high"]),
            (row["simulated_send_back_low"], row["simulated_send_back_high"]),
        )
        row["ks_p_value"] = p_value
        closed, total = totals["records"]
        if total:
            taking = int(parts["records"]["case"].isin(closed).sum())
            low, high = wilson_interval(float(taking), float(total))
            row["records_share_low"], row["records_share_high"] = low, high
            inside = low <= row["simulated_share"] <= high
            row["share_verdict"] = "good" if inside else "poor"
        else:
            row["records_share_low"] = row["records_share_high"] = np.nan
            row["share_verdict"] = ""
        row["time_verdict"] = (
            "" if durations is None else ("good" if durations and not p_value < POOR_P else "poor")
        )
        row["send_back_verdict"] = "" if backs is None else ("good" if backs else "poor")
        rows.append(row)
    return pd.DataFrame(rows), samples


# --------------------------------------------------------------------------- arrivals


def _arrivals(
    calibration: Calibration, simulated_cases: pd.DataFrame, replications: int
) -> pd.DataFrame:
    """Cases arriving (first event) per week of the held-back period."""
    calendar = calibration.calendar
    test = calibration.test
    begin, end = calibration.split, float(test["first"].max())

    def week_of(clock: np.ndarray) -> np.ndarray:
        """The Monday of each clock value's week."""
        dates = calendar.dates_of(np.floor(clock)).astype("datetime64[D]")
        return dates - ((dates.astype(np.int64) + 3) % 7).astype("timedelta64[D]")

    weeks = np.unique(week_of(calendar_range(begin, end)))
    working = pd.Series(week_of(calendar_range(begin, end))).value_counts()
    records = pd.Series(week_of(test["first"].to_numpy(float))).value_counts()
    chosen = simulated_cases[
        (simulated_cases["first"] >= begin) & (simulated_cases["first"] <= end)
    ]
    replication = chosen.index.to_series().str.split("/", n=1).str[0].to_numpy()
    per_week = pd.crosstab(week_of(chosen["first"].to_numpy(float)), replication)
    per_week = per_week.reindex(index=weeks, fill_value=0)
    table = np.zeros((len(weeks), replications))
    table[:, : per_week.shape[1]] = per_week.to_numpy(float)[:, :replications]
    cumulative = np.cumsum(table, axis=0)
    recorded = np.array([int(records.get(week, 0)) for week in weeks])
    days = np.array([int(working.get(week, 0)) for week in weeks])
    rows = []
    for index, week in enumerate(weeks):
        weekly = _spread(table[index])
        total = _spread(cumulative[index])
        rows.append(
            {
                "week": pd.Timestamp(week).date(),
                "working_days": int(days[index]),
                "records": int(recorded[index]),
                "simulated": weekly[0],
                "simulated_low": weekly[1],
                "simulated_high": weekly[2],
                "naive": calibration.arrivals.rate * days[index],
                "records_cumulative": int(recorded[: index + 1].sum()),
                "simulated_cumulative": total[0],
                "simulated_cumulative_low": total[1],
                "simulated_cumulative_high": total[2],
                "naive_cumulative": calibration.arrivals.rate * days[: index + 1].sum(),
            }
        )
    return pd.DataFrame(rows)


def _spread(values: np.ndarray) -> tuple[float, float, float]:
    """Mean over replications and its t interval (NaN with one replication)."""
    if values.size < 2:
        return float(values.mean()) if values.size else np.nan, np.nan, np.nan
    return t_interval(values)


def calendar_range(begin: float, end: float) -> np.ndarray:
    """The working days from ``begin`` to ``end`` (clock values, whole days)."""
    return np.arange(np.floor(begin), np.floor(end) + 1)


# --------------------------------------------------------------------------- evaluate


def evaluate(
    calibration: Calibration,
    replications: int | None = None,
    executor: str = "serial",
    workers: int | None = None,
) -> Evaluation:
    """Simulate the held-back period and compare it with its records (module doc)."""
    run = simulate(calibration, replications, executor, workers)
    replications = run.replications
    frame = simulated_frame(calibration, run)
    simulated = (
        timeline.case_table(frame)
        if len(frame)
        else pd.DataFrame(columns=["first", "last", "executions", "last_step", "cycle"])
    )
    simulated["open"] = open_cases(simulated, calibration.end_steps)
    last_first = float(calibration.test["first"].max())
    in_period = (simulated["first"] >= calibration.split) & (simulated["first"] <= last_first)
    simulated_test = simulated[in_period]
    test = calibration.test
    training = calibration.training
    rng = np.random.default_rng([calibration.settings.seed, 7])
    summary, samples = _summary(
        calibration,
        test[~test["open"]],
        simulated_test[~simulated_test["open"]],
        training[~training["open"]],
        rng,
    )
    times = {
        "records": _step_times(calibration, calibration.frame, test),
        "simulated": _step_times(calibration, frame, simulated_test),
        "naive": _step_times(calibration, calibration.frame, training),
    }
    # Shares of cases taking a step count closed cases: open ones may take it still.
    totals = {
        name: (cases.index[~cases["open"]], int((~cases["open"]).sum()))
        for name, cases in (("records", test), ("simulated", simulated_test), ("naive", training))
    }
    steps, step_samples = _steps(calibration, times, totals)
    arrivals = _arrivals(calibration, simulated, replications)
    findings = {
        "records_compared": int((~test["open"]).sum()),
        "records_open": int(test["open"].sum()),
        "simulated_compared": int((~simulated_test["open"]).sum()),
        "simulated_open": int(simulated_test["open"].sum()),
        "replications": replications,
    }
    return Evaluation(calibration, run, summary, steps, arrivals, samples, step_samples, findings)
