"""What a results folder keeps so that a run can be reported and compared without simulating.

A run writes, beside its tables:

* ``scenario.json``: the resolved scenario as data (`scenario_data`): names and targets,
  the variants with their reforms, and each variant's model (agencies with their staff,
  procedures with their steps, distributions and conditions) after its reforms;
* ``report_data.json``: what the report draws that the tables do not hold
  (`report_tables`): each variant's cycle-time quantiles, the median case's timeline,
  and what the slowest cases spend their time on;
* ``contributions.csv`` when the reform contributions were computed.

`read_run` reads a folder back as a `SavedRun`, from which `sim.output.report` renders
the report (the run itself renders it from the same files, so ``approvalsim report
RUN_DIR`` gives the same page) and `sim.output.compare` compares two runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import casepath
from sim.analysis.cases import groups_by
from sim.domain.conditions import Condition
from sim.domain.distributions import Distribution
from sim.domain.errors import InputError
from sim.domain.model import Demand, Scenario
from sim.output.tables import write_csv
from sim.reforms.registry import touches
from sim.run.experiment import RunResult
from sim.run.files import MANIFEST, write_atomically
from sim.run.forking import map_forked

FORMAT = 1
SCENARIO_FILE = "scenario.json"
REPORT_DATA_FILE = "report_data.json"
CONTRIBUTIONS_FILE = "contributions.csv"
TABLE_FILES = ("summary.csv", "comparison.csv", "agencies.csv")
# Quantiles of the elapsed working days drawn as a variant's box in the report.
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
# A variant's procedure that is the baseline's, in ``scenario.json``.
SAME = "same as baseline"
# Fields that say where something was written, not what it is.
_NOT_DATA = {"file", "line", "stream", "rule"}


# --------------------------------------------------------------------------- scenario


def as_data(value: Any) -> Any:
    """A model object as JSON-ready data: dataclasses as mappings, distributions as specs."""
    if isinstance(value, Distribution):
        return value.to_spec()
    if isinstance(value, Condition):
        return value.text
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: as_data(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in _NOT_DATA and f.repr and not callable(getattr(value, f.name))
        }
    if isinstance(value, Mapping):
        return {str(key): as_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_data(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _demand_data(demand: Demand) -> dict[str, Any]:
    unconditional = tuple(False for _ in demand.conditions)
    data = {
        "arrivals_per_day": demand.arrivals_per_day,
        "procedure": as_data(demand.version(unconditional)),
    }
    if demand.conditions:
        data["conditional_reforms"] = [
            {"label": r.label, "when": r.condition.text if r.condition else None}
            for r in demand.reforms
        ]
        data["procedure_when_every_condition_holds"] = as_data(
            demand.version(tuple(True for _ in demand.conditions))
        )
    return data


def scenario_data(scenario: Scenario, variants: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The resolved scenario as data: what a run ran, for its report and for comparisons.

    Args:
        scenario: The resolved scenario.
        variants: The variants run (default: all).
    """
    names = variants or scenario.variant_names
    declared = {v.name: v for v in scenario.variants}
    procedures = {}
    for name in names:
        for demand in scenario.model(name).demands:
            procedure = demand.procedure
            procedures.setdefault(
                procedure.id,
                {
                    "name": as_data(procedure.name),
                    "target_days": procedure.target_days,
                    "target_unit": procedure.target_unit,
                    "target_source": procedure.target_source,
                },
            )
    agencies = {a.id: {"name": as_data(a.name)} for a in scenario.agencies}
    listed = []
    for name in names:
        variant = declared.get(name)
        listed.append(
            {
                "name": name,
                "title": as_data(variant.title) if variant else "baseline",
                "reforms": [as_data(r) for r in variant.reforms] if variant else [],
                "touches": [
                    p for p in procedures if variant and any(touches(r, p) for r in variant.reforms)
                ],
            }
        )
    models: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    for name in names:
        model = scenario.model(name)
        demands = {d.procedure.id: _demand_data(d) for d in model.demands}
        if name == "baseline":
            baseline = demands
        else:  # what a variant leaves as the baseline has it, said once
            demands = {
                key: SAME if baseline.get(key) == value else value for key, value in demands.items()
            }
        models[name] = {
            "agencies": {
                a.id: {"staff": a.staff if a.staff is not None else "unlimited"}
                for a in model.agencies
            },
            "procedures": demands,
            "fired": list(model.fired),
        }
    return {
        "format": FORMAT,
        "name": scenario.name,
        "title": scenario.title,
        "file": Path(scenario.file).name if scenario.file else "",
        "seed": scenario.seed,
        "replications": scenario.replications,
        "start": scenario.start.isoformat(),
        "horizon": as_data(scenario.horizon),
        "procedures": procedures,
        "agencies": agencies,
        "variants": listed,
        "models": models,
    }


# --------------------------------------------------------------------------- report data


def report_tables(
    result: RunResult, tail: float = 0.1, workers: int | None = None, progress=None
) -> dict[str, pd.DataFrame]:
    """What the report draws beyond the summary tables, for every procedure and variant.

    Args:
        result: The run, with the step rows of its first replication.
        tail: The share of slowest cases whose time is split up.
        workers: Processes working side by side (one procedure a job).
        progress: Called with (done, total) procedures.

    Returns:
        ``distributions`` (cycle-time quantiles of completed cases after the warm-up,
        pooled over the replications whose case rows the run kept: the command line
        keeps the first, every one with ``--keep cases``), ``timelines`` (the median
        case of the first replication, `sim.analysis.casepath.case_timeline`, with the
        case's figures) and ``tails``
        (`sim.analysis.casepath.tail_drivers`).
    """
    scenario = result.scenario
    variants = [v for v in scenario.variant_names if v in set(result.variants)]
    procedures = list(dict.fromkeys(result.summary["procedure"])) if len(result.summary) else []
    cases = groups_by(result.cases, "procedure")
    steps = groups_by(result.steps, "procedure")
    empty_cases, empty_steps = result.cases.iloc[:0], result.steps.iloc[:0]

    def one(procedure: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return _procedure_tables(
            scenario,
            procedure,
            variants,
            cases.get(procedure, empty_cases),
            steps.get(procedure, empty_steps),
            tail,
        )

    parts = map_forked(one, procedures, workers, progress)
    return {
        name: pd.concat([part[index] for part in parts], ignore_index=True)
        if parts
        else pd.DataFrame()
        for index, name in enumerate(("distributions", "timelines", "tails"))
    }


def _procedure_tables(scenario, procedure, variants, cases, steps, tail):
    warmup = scenario.horizon.warmup_days
    done = cases[
        (cases["status"] == "completed") & (cases["arrival_day"].to_numpy(float) >= warmup)
    ]
    rows = []
    for variant in variants:
        days = done.loc[done["variant"] == variant, "elapsed_working_days"].to_numpy(float)
        row = {"variant": variant, "procedure": procedure, "completed": len(days)}
        for q, value in zip(QUANTILES, _quantiles(days), strict=True):
            row[f"p{round(100 * q):02d}"] = value
        rows.append(row)
    distributions = pd.DataFrame(rows)
    chosen = casepath.median_case(cases, procedure, variants, 0, warmup)
    timelines, tails = [], []
    for variant in variants:
        procedures = casepath.VariantProcedures.of(scenario, variant)
        case_id = chosen.get(variant)
        if case_id is not None:
            mine = cases[(cases["replication"] == 0) & (cases["variant"] == variant)]
            case = mine[mine["case_id"] == case_id].iloc[0]
            timeline = casepath.case_timeline(steps, case, scenario, procedures)
            median = mine.loc[mine["status"] == "completed", "elapsed_working_days"].median()
            timelines.append(
                timeline.assign(
                    variant=variant,
                    procedure=procedure,
                    case_id=case_id,
                    elapsed_working_days=float(case["elapsed_working_days"]),
                    elapsed_calendar_days=float(case["elapsed_calendar_days"]),
                    approval_clock_days=float(case["approval_clock_days"]),
                    variant_median_days=float(median),
                )
            )
        tails.append(
            casepath.tail_drivers(cases, steps, scenario, procedure, variant, tail, procedures)
        )
    non_empty = [t for t in timelines if len(t)]
    found_tails = [t for t in tails if len(t)]
    return (
        distributions,
        pd.concat(non_empty, ignore_index=True) if non_empty else pd.DataFrame(),
        pd.concat(found_tails, ignore_index=True) if found_tails else pd.DataFrame(),
    )


def _quantiles(values: np.ndarray) -> list[float]:
    if len(values) == 0:
        return [math.nan] * len(QUANTILES)
    return [float(v) for v in np.quantile(values, QUANTILES)]


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class SavedRun:
    """A run as its results folder keeps it: enough to report and compare it.

    Attributes:
        folder: The results folder.
        manifest: What ``manifest.json`` says (run id, seed, replications, engine, ...).
        scenario: `scenario_data` of the resolved scenario.
        summary: The summary table.
        comparison: The paired comparison.
        agencies: The agency table.
        contributions: The reform contributions, or None.
        distributions: Cycle-time quantiles (`report_tables`).
        timelines: The median cases' timelines.
        tails: The slow tails' parts.
        has_report_data: Whether the run kept what its report needs (not with
            ``--no-report``).
    """

    folder: Path | None
    manifest: dict[str, Any]
    scenario: dict[str, Any]
    summary: pd.DataFrame
    comparison: pd.DataFrame
    agencies: pd.DataFrame
    contributions: pd.DataFrame | None
    distributions: pd.DataFrame
    timelines: pd.DataFrame
    tails: pd.DataFrame
    has_report_data: bool = True

    @property
    def variants(self) -> list[str]:
        """The variants run, in the scenario's order."""
        return [v["name"] for v in self.scenario["variants"]]


def write_run_data(
    folder: Path,
    scenario: dict[str, Any],
    tables: Mapping[str, pd.DataFrame] | None,
    contributions: pd.DataFrame | None,
) -> list[Path]:
    """Write ``scenario.json``, ``report_data.json`` and ``contributions.csv`` (if any).

    Args:
        folder: Where (a results folder's staging folder).
        scenario: `scenario_data`.
        tables: `report_tables` (None: no ``report_data.json``).
        contributions: The frame of `sim.analysis.contributions.reform_contributions`.

    Returns:
        The files written.
    """
    written = [folder / SCENARIO_FILE]
    _write_json(written[0], scenario, indent=1)
    if tables is not None:
        written.append(folder / REPORT_DATA_FILE)
        _write_json(
            written[1],
            {"format": FORMAT, **{name: _records(frame) for name, frame in tables.items()}},
        )
    if contributions is not None:
        written.append(write_csv(contributions, folder / CONTRIBUTIONS_FILE))
    return written


def _write_json(path: Path, data: Any, indent: int | None = None) -> None:
    separators = None if indent else (",", ":")
    text = json.dumps(
        data, ensure_ascii=False, indent=indent, separators=separators, allow_nan=False, default=str
    )
    text += "\n"
    write_atomically(path, lambda p: p.write_text(text, encoding="utf-8"))


def _records(frame: pd.DataFrame) -> dict[str, Any]:
    """A frame as columns and rows of plain values (NaN as null), which JSON keeps exactly."""
    return {
        "columns": [str(c) for c in frame.columns],
        "rows": [[as_data(_plain(v)) for v in row] for row in frame.itertuples(index=False)],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _frame(data: Mapping[str, Any] | None) -> pd.DataFrame:
    if not data:
        return pd.DataFrame()
    frame = pd.DataFrame(data["rows"], columns=data["columns"])
    return frame.infer_objects()


def read_run(folder: Path) -> SavedRun:
    """A results folder read back (`SavedRun`).

    Raises:
        InputError: The folder holds no complete run, or one written before runs kept
            their scenario and report data (run it again).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such results folder", file=folder)
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(
            "no complete run here (manifest.json is missing or unreadable: the run is being "
            "written, or was stopped before it finished)",
            file=folder,
        ) from None
    files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
    missing = [n for n in (SCENARIO_FILE, *TABLE_FILES) if n not in files]
    if missing:
        raise InputError(
            f"this run's folder lacks {', '.join(missing)} (written by an earlier version): "
            "run the scenario again to report or compare it",
            file=folder,
        )
    return load_saved(
        folder, manifest, CONTRIBUTIONS_FILE in files, report_data=REPORT_DATA_FILE in files
    )


def load_saved(
    folder: Path, manifest: dict[str, Any], contributions: bool, report_data: bool = True
) -> SavedRun:
    """The run whose files are in ``folder`` (a results folder, or a run's staging folder).

    Args:
        folder: The folder.
        manifest: What its manifest says (or will say).
        contributions: Whether it holds ``contributions.csv``.
        report_data: Whether it holds ``report_data.json`` (a run with ``--no-report``
            does not: its `SavedRun` has empty `report_tables`).
    """
    data = _read_json(folder / REPORT_DATA_FILE) if report_data else {}
    return SavedRun(
        folder=folder,
        manifest=manifest,
        scenario=_read_json(folder / SCENARIO_FILE),
        summary=read_csv(folder / "summary.csv"),
        comparison=read_csv(folder / "comparison.csv"),
        agencies=read_csv(folder / "agencies.csv"),
        contributions=read_csv(folder / CONTRIBUTIONS_FILE) if contributions else None,
        distributions=_frame(data.get("distributions")),
        timelines=_frame(data.get("timelines")),
        tails=_frame(data.get("tails")),
        has_report_data=report_data,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the run's data: {error}", file=path) from None


def read_csv(path: Path) -> pd.DataFrame:
    """A table the run wrote, with its numbers exactly as computed (shortest round trip)."""
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the run's table: {error}", file=path) from None


def saved_run(
    result: RunResult,
    contributions: pd.DataFrame | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SavedRun:
    """A run in memory as a `SavedRun`, for reporting it without writing its data files."""
    return SavedRun(
        folder=None,
        manifest=run_about(result),
        scenario=scenario_data(result.scenario, tuple(result.variants)),
        summary=result.summary,
        comparison=result.comparison,
        agencies=result.agencies,
        contributions=contributions,
        **report_tables(result, workers=workers, progress=progress),
    )


def run_about(result: RunResult, engine: str | None = None) -> dict[str, Any]:
    """What a results folder's manifest says about its run."""
    return {
        "scenario": result.scenario.name,
        "run_id": result.run_id,
        "seed": result.seed,
        "replications": result.replications,
        "variants": list(result.variants),
        "engine": engine or result.engine,
    }
