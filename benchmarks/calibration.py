"""Calibration benchmark: fit time and memory by log size, and fit quality against Simod.

    python benchmarks/calibration.py logs              # write the 10k, 100k and 1M event logs
    python benchmarks/calibration.py speed [--report]  # time `approvalsim calibrate` on each
    python benchmarks/calibration.py quality           # this project on the road-traffic log
    python benchmarks/calibration.py simod             # Simod 5 on the same split (its own venv)

The logs are simulated by the project from `benchmarks/calibration_model.yaml` (a
procedure of five steps, two side by side, one with send-backs, agencies without staff
limits) and written as CSV event logs with start and complete events; they go to
`benchmarks/calibration_data/` (not in git). `speed` runs the command in a child process
and reads its wall time and peak memory from the operating system (`getrusage`); the
figures in benchmarks/README.md were taken with `farm-bench` as well.

`quality` and `simod` use the same split of the road-traffic log (tests/data): the 70
earliest cases to fit, the 30 latest held back; both compare cycle times (first to last
recorded event, working days of the Italian calendar, and calendar days) of the
held-back closed cases with the simulation's: W1, KS, mean, median and P90. Simod needs
`python3 -m venv benchmarks/.simod-venv && benchmarks/.simod-venv/bin/pip install simod`
and a Java runtime.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "calibration_data"
ROAD = ROOT / "tests" / "data" / "roadtraffic100traces.xes"
SIMOD = HERE / ".simod-venv" / "bin" / "simod"
# Cases a working day for about 10k, 100k and 1M events (two events a step execution).
SIZES = {"10k": 6, "100k": 60, "1M": 640}
DAYS = 150


# --------------------------------------------------------------------------- logs


def write_logs() -> None:
    import sim
    from sim.output.eventlog import write_eventlog

    DATA.mkdir(exist_ok=True)
    for name, rate in SIZES.items():
        folder = DATA / name
        folder.mkdir(exist_ok=True)
        shutil.copy(HERE / "calibration_model.yaml", folder / "bench.yaml")
        scenario = (HERE / "calibration_scenario.yaml").read_text(encoding="utf-8")
        scenario = scenario.replace("RATE", str(rate)).replace("DAYS", str(DAYS))
        (folder / "scenario.yaml").write_text(scenario, encoding="utf-8")
        result = sim.run(folder / "scenario.yaml", replications=1, steps="first")
        path = write_eventlog(result, folder / "log.csv", "csv", "en")
        events = sum(1 for _ in path.open(encoding="utf-8")) - 1
        print(f"{name}: {events} events, {len(result.cases)} cases -> {path}")


def speed(report: bool) -> None:
    rows = []
    for name in SIZES:
        log = DATA / name / "log.csv"
        out = DATA / name / "out"
        command = [
            sys.executable,
            "-m",
            "sim",
            "calibrate",
            str(log),
            "--out",
            str(out),
            "--lang",
            "en",
        ]
        command += ["-r", "3"] if report else ["--no-report"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "CI": "1"}
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode:
            raise SystemExit(done.stderr)
        events = sum(1 for _ in log.open(encoding="utf-8")) - 1
        rows.append(
            {
                "log": name,
                "events": events,
                "wall_s": round(wall, 1),
                "cpu_s": round(
                    after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1
                ),
                "peak_mb": round(after.ru_maxrss / 1024),
            }
        )
        print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


# --------------------------------------------------------------------------- quality


def _split():
    """The road-traffic records, calibrated (70 cases fitted, 30 held back)."""
    import sim

    return sim.calibrate(ROAD, calendar="IT", report=False, replications=10)


def _figures(records: np.ndarray, simulated: np.ndarray) -> dict[str, float]:
    return {
        "n_records": int(records.size),
        "n_simulated": int(simulated.size),
        "w1": float(stats.wasserstein_distance(records, simulated)),
        "ks": float(stats.ks_2samp(records, simulated).statistic),
        "ks_p": float(stats.ks_2samp(records, simulated).pvalue),
        "mean": float(simulated.mean()),
        "median": float(np.median(simulated)),
        "p90": float(np.quantile(simulated, 0.9)),
        "records_mean": float(records.mean()),
        "records_median": float(np.median(records)),
        "records_p90": float(np.quantile(records, 0.9)),
    }


def quality() -> dict:
    from sim.analysis.calibration.evaluation import evaluate

    result = _split()
    evaluation = evaluate(result.calibration, replications=10)
    samples = evaluation.samples
    found = {
        "approvalsim": {
            unit: _figures(samples["records" + suffix], samples["simulated" + suffix])
            for unit, suffix in (("working_days", ""), ("calendar_days", "_calendar"))
        },
        "naive": {
            unit: _figures(samples["records" + suffix], samples["naive" + suffix])
            for unit, suffix in (("working_days", ""), ("calendar_days", "_calendar"))
        },
    }
    summary = evaluation.summary
    print(summary.round(3).to_string())
    (DATA / "quality.json").parent.mkdir(exist_ok=True)
    (DATA / "quality.json").write_text(json.dumps(found, indent=2), encoding="utf-8")
    print(json.dumps(found, indent=2))
    return found


def _simod_logs(calibration) -> tuple[Path, Path]:
    """The training and held-back cases as Simod reads them.

    The training log's start times are left empty: Simod estimates them. The records
    have end times only.
    """
    folder = DATA / "simod"
    folder.mkdir(parents=True, exist_ok=True)
    executions = calibration.records.executions
    frame = pd.DataFrame(
        {
            "case_id": executions["case"],
            "activity": executions["step"],
            "resource": executions["resource"].replace("", "unknown"),
            "start_time": pd.NaT,
            "end_time": executions["end"].dt.tz_localize(
                "Europe/Rome", ambiguous="NaT", nonexistent="shift_forward"
            ),
        }
    )
    test = set(calibration.test.index)
    paths = []
    for name, keep in (
        ("train", ~frame["case_id"].isin(test)),
        ("test", frame["case_id"].isin(test)),
    ):
        path = folder / f"{name}.csv"
        part = frame[keep].copy()
        if name == "test":
            # Simod starts its final simulations at the test log's first start time and
            # does not estimate the test log's: the (instantaneous) events give one.
            part["start_time"] = part["end_time"]
        for column in ("start_time", "end_time"):
            part[column] = part[column].map(lambda t: t.isoformat() if pd.notna(t) else "")
        part.to_csv(path, index=False)
        paths.append(path)
    return paths[0], paths[1]


SIMOD_CONFIG = """version: 5
common:
  train_log_path: {train}
  test_log_path: {test}
  log_ids:
    case: case_id
    activity: activity
    resource: resource
    start_time: start_time
    end_time: end_time
  perform_final_evaluation: true
  num_final_evaluations: 10
  evaluation_metrics:
    - cycle_time_distribution
    - absolute_event_distribution
  clean_intermediate_files: true
"""


def simod() -> None:
    from sim.analysis.calibration import timeline

    if not SIMOD.exists():
        raise SystemExit(f"no Simod at {SIMOD}: see the module doc")
    result = _split()
    calibration = result.calibration
    train, test = _simod_logs(calibration)
    config = DATA / "simod" / "config.yaml"
    config.write_text(SIMOD_CONFIG.format(train=train, test=test), encoding="utf-8")
    output = DATA / "simod" / "output"
    shutil.rmtree(output, ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run(
        [str(SIMOD), "--configuration", str(config), "--output", str(output)],
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - start
    (DATA / "simod" / "simod.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode:
        raise SystemExit(f"Simod failed ({done.returncode}); see {DATA / 'simod' / 'simod.log'}")
    logs = sorted(output.rglob("evaluation/simulated_log_*.csv")) or sorted(
        output.rglob("simulated_*.csv")
    )
    if not logs:
        raise SystemExit(f"Simod wrote no simulated log under {output}")
    calendar = calibration.calendar
    records = calibration.test[~calibration.test["open"]]
    days = calendar.calendar_days
    reference = {
        "working_days": records["cycle"].to_numpy(float),
        "calendar_days": np.asarray(days(records["last"].to_numpy(float)))
        - np.asarray(days(records["first"].to_numpy(float))),
    }
    # Two readings of a simulated case: from its first end, as the records (end times
    # only) show a case; and from its first start, Simod's own case duration, which
    # holds the first activity's processing time its model gives it.
    found = {"seconds": round(took, 1), "simulated_logs": len(logs)}
    for reading, use_start in (("first_end", False), ("first_start", True)):
        cycles = {"working_days": [], "calendar_days": []}
        for path in logs:
            log = pd.read_csv(path)
            frame = pd.DataFrame(
                {
                    "case": path.stem + "/" + log["case_id"].astype(str),
                    "step": log["activity"].astype(str),
                    "start": _clock(calendar, log["start_time"]) if use_start else np.nan,
                    "end": _clock(calendar, log["end_time"]),
                    "agency": "",
                }
            )
            cases = timeline.case_table(timeline.prepare(frame))
            cycles["working_days"].append(cases["cycle"].to_numpy(float))
            cycles["calendar_days"].append(
                np.asarray(days(cases["last"].to_numpy(float)))
                - np.asarray(days(cases["first"].to_numpy(float)))
            )
        found[reading] = {
            unit: _figures(reference[unit], np.concatenate(values))
            for unit, values in cycles.items()
        }
    (DATA / "simod.json").write_text(json.dumps(found, indent=2), encoding="utf-8")
    print(json.dumps(found, indent=2))


def _clock(calendar, moments: pd.Series) -> np.ndarray:
    """Simod's UTC times as Italian wall-clock times on the records' working-day clock."""
    local = pd.to_datetime(moments, utc=True, format="ISO8601").dt.tz_convert("Europe/Rome")
    return calendar.clock_of_moments(local.dt.tz_localize(None).to_numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["logs", "speed", "quality", "simod"])
    parser.add_argument(
        "--report", action="store_true", help="speed: with the fit report (3 replications)"
    )
    arguments = parser.parse_args()
    if arguments.what == "logs":
        write_logs()
    elif arguments.what == "speed":
        speed(arguments.report)
    elif arguments.what == "quality":
        quality()
    else:
        simod()


if __name__ == "__main__":
    main()
