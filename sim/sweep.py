"""Sweeps: a scenario run at every point of a grid of settings, as one tidy table.

``approvalsim sweep SCENARIO --set agencies.housing_bureau.staff=8..14 --set
procedures.construction_social.arrivals_per_day=0.5,1,2`` runs the scenario at each
combination of the values (`sim.inputs.settings`). Every point runs with the same seed,
so replication ``r`` of every point draws the same random numbers wherever the points
do not differ (common random numbers, as the variants of a run do): the differences
between points are the settings', not chance's. Each point's finished replications are
kept under ``<output>/runs/`` as a run's are, so an interrupted sweep resumes; one
executor (serial, a process pool, a Dask cluster) runs every point's replications.

`sweep` returns the tidy table: a row per point, variant and procedure, with each
setting's value, the point's total staff, and the share within target, mean and 90th
percentile working days with their 95% intervals. `cheapest_points` picks, for each
procedure and variant (and each value of the settings that are not staff), the point
with the fewest staff whose 90th percentile is within the target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis import summarize_run
from sim.domain.errors import InputError
from sim.inputs.loader import DEFAULT_SCENARIO, scenario_from_data
from sim.inputs.settings import Setting, apply_settings, grid, parse_setting
from sim.inputs.yaml import read_yaml
from sim.reforms import resolve
from sim.run.executors import make_executor
from sim.run.experiment import run_experiment

FIGURES = (
    "share_within_target",
    "share_within_target_low",
    "share_within_target_high",
    "mean_days",
    "mean_days_low",
    "mean_days_high",
    "p90_days",
    "p90_days_low",
    "p90_days_high",
)


def sweep(
    scenario: Path | str | None,
    settings: Sequence[str | Setting],
    replications: int | None = None,
    seed: int | None = None,
    variants: Sequence[str] | None = None,
    executor: str | Executor = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    engine: str = "des",
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run a scenario at every point of a grid of settings.

    Args:
        scenario: The scenario file (None: the bundled demo).
        settings: ``path=values`` texts (``agencies.housing_bureau.staff=8..14``) or
            `Setting` objects.
        replications: Replications at each point (default: the scenario's).
        seed: The root seed of every point (default: the scenario's).
        variants: Variants to run at each point (default: the baseline only).
        executor: ``serial``, ``process``, ``dask`` or an Executor, shared by the points.
        workers: Worker count.
        scheduler: An existing Dask scheduler's address.
        engine: Engine name.
        cache: Folder for finished replications (resume); None keeps nothing.
        progress: Called with (replications done, replications in all).

    Returns:
        The tidy table (see the module doc), with ``point`` numbering the points.

    Raises:
        InputError: A bad setting or value, naming the setting (and the file and field
            where the scenario rejects a value).
    """
    path = Path(scenario) if scenario is not None else DEFAULT_SCENARIO
    parsed = [s if isinstance(s, Setting) else parse_setting(s) for s in settings]
    if not parsed:
        raise InputError("a sweep needs at least one --set PATH=VALUES")
    data = read_yaml(path)
    points = grid(parsed)
    scenarios = [_scenario(data, point, path) for point in points]
    chosen = ["baseline", *(v for v in (variants or []) if v != "baseline")]
    # One fixed path a point with the deterministic engine: replications would repeat it.
    count = 1 if engine == "deterministic" else replications or scenarios[0].replications
    total, done = count * len(points), 0
    pool, close = make_executor(executor, workers, scheduler)
    frames = []
    try:
        for number, (point, changed) in enumerate(zip(points, scenarios, strict=True)):

            def step(finished: int, _total: int, before: int = done) -> None:
                if progress:
                    progress(before + finished, total)

            result = run_experiment(
                changed,
                replications=count,
                seed=seed,
                variants=chosen,
                executor=pool,
                workers=workers,
                engine=engine,
                cache=cache,
                progress=step,
            )
            done += count
            summary = summarize_run(result, workers=1).summary
            frames.append(_rows(number, point, changed, summary))
    except BaseException:
        close(abort=True)
        raise
    close()
    return pd.concat(frames, ignore_index=True)


def _scenario(data: Any, point: dict[str, Any], path: Path):
    """The scenario at one point, resolved (a bad value names the setting and the field)."""
    changed = apply_settings(data, point, path)
    try:
        return resolve(scenario_from_data(changed, path))
    except InputError as error:
        shown = ", ".join(f"{k}={v}" for k, v in point.items())
        raise InputError(f"at the sweep point {shown}: {error}") from None


def _rows(number: int, point: dict[str, Any], scenario, summary: pd.DataFrame) -> pd.DataFrame:
    staff = sum(a.staff for a in scenario.agencies if a.staff is not None)
    columns = ["variant", "procedure", "target_days", "replications", *FIGURES]
    rows = summary[columns].copy()
    for position, (path, value) in enumerate(point.items()):
        rows.insert(position, path, value)
    rows.insert(0, "point", number)
    rows.insert(len(point) + 1, "total_staff", staff)
    rows["p90_within_target"] = rows["p90_days"] <= rows["target_days"]
    return rows


def setting_columns(table: pd.DataFrame) -> list[str]:
    """The columns of a sweep table that hold the settings' values."""
    columns = list(table.columns)
    return columns[1 : columns.index("total_staff")]


def cheapest_points(table: pd.DataFrame) -> pd.DataFrame:
    """The point with the fewest staff whose 90th percentile is within the target.

    One for each procedure and variant, and each value of the settings that are not
    staff (ties: the earlier point). Groups where no point meets it are left out.
    """
    settings = setting_columns(table)
    demand = [c for c in settings if not c.endswith(".staff")]
    keys = ["procedure", "variant", *demand]
    met = table[table["p90_within_target"]]
    if met.empty:
        return met.copy()
    ordered = met.sort_values(["total_staff", "point"], kind="stable")
    return (
        ordered.drop_duplicates(keys, keep="first")
        .sort_values(["procedure", "variant", *demand], kind="stable")
        .reset_index(drop=True)
    )
