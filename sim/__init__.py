"""approvalsim: simulate government approval and utility-connection procedures and their reforms.

The package reads as the data flows: `sim.domain` (model objects, distributions,
conditions, the working-day calendar) -> `sim.inputs` (files) -> `sim.reforms` ->
`sim.engines` -> `sim.run` (experiments, executors) -> `sim.analysis` -> `sim.output`
(text, figures, report, event logs) -> `sim.cli`. From Python::

    import sim
    result = sim.run("scenarios/demo.yaml", replications=5)
    result.summary
    fitted = sim.calibrate("records.csv", out="fitted")   # a procedure from case records
    fitted.summary
    grid = sim.sweep("scenarios/demo.yaml", ["agencies.housing_bureau.staff=8..14"])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.analysis import summarize_run
from sim.domain.errors import InputError
from sim.domain.model import Scenario
from sim.inputs.loader import load_procedure
from sim.output.report import write_report
from sim.reforms import load_scenario
from sim.run.experiment import RunResult, run_experiment
from sim.sweep import sweep

__version__ = "0.1.0"

__all__ = [
    "CalibrationResult",
    "InputError",
    "RunResult",
    "Scenario",
    "calibrate",
    "load_procedure",
    "load_scenario",
    "run",
    "sweep",
    "write_report",
]


def run(
    scenario: Scenario | Path | str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    variants: list[str] | None = None,
    executor: str = "serial",
    **options,
) -> RunResult:
    """Run a scenario (a path, a loaded `Scenario`, or None for the bundled demo).

    Args:
        scenario: Scenario file path or loaded scenario.
        replications: How many replications (default: the scenario's).
        seed: Root seed (default: the scenario's).
        variants: Variant names (default: all).
        executor: ``serial`` (default here), ``process``, ``dask`` or an Executor.
        **options: Further options of `sim.run.experiment.run_experiment` (``workers``,
            ``scheduler``, ``engine``, ``cache``, ``steps``, ``cases``).

    Returns:
        The run, whose ``cases`` (every replication's, or the first's with
        ``cases="first"``: the summary and comparison are the same either way, made
        from every replication's ``figures``), ``steps`` (the first replication's, or
        every one's with ``steps="all"``, none with ``steps="none"``), ``queues``,
        ``figures``, ``summary``, ``comparison`` and ``agencies`` are pandas DataFrames.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    result = run_experiment(
        scenario,
        replications=replications,
        seed=seed,
        variants=variants,
        executor=executor,
        **options,
    )
    return summarize_run(result, workers=options.get("workers"))


@dataclass(frozen=True)
class CalibrationResult:
    """What `calibrate` gives back.

    Attributes:
        procedure: The fitted procedure (`sim.domain.model.Procedure`).
        scenario: The fitted scenario, resolved, ready for `run`.
        files: The files written (procedure, scenario, tables, report); empty with no
            output folder.
        fitted: Every fitted number with its interval and method.
        summary: Cycle times, records against simulated and naive (empty without a report).
        steps: Per step, time from ready to done and send-back rates (same).
        arrivals: Arrivals per week of the held-back period (same).
        calibration: Everything else (`sim.analysis.calibration.calibrate.Calibration`).
    """

    procedure: object
    scenario: Scenario
    files: tuple[Path, ...]
    fitted: pd.DataFrame
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    steps: pd.DataFrame = field(default_factory=pd.DataFrame)
    arrivals: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: object = None


def calibrate(
    records: Path | str,
    procedure: Path | str | None = None,
    out: Path | str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    test_share: float = 0.3,
    calendar: str = "china",
    columns: dict[str, str] | str | None = None,
    mapping: Path | str | None = None,
    report: bool = True,
    lang: str = "zh",
    **options,
) -> CalibrationResult:
    """Fit a procedure and scenario to case records and measure the fit (docs/calibration.md).

    Args:
        records: A CSV, XLSX or XES file of case records.
        procedure: A procedure file whose numbers to fit (default: discover the steps).
        out: Folder for the fitted files, tables and fit report (None: write nothing).
        since: First day of the period to fit (``YYYY-MM-DD`` or a date).
        until: Last day of it.
        test_share: Share of the latest cases held back for the fit report.
        calendar: ``china`` (default), a country code of the `holidays` package,
            ``weekdays`` or ``all``.
        columns: Role to column (``{"case": "id"}``, or ``"case=id,step=task"``).
        mapping: A file mapping the records' step names to the procedure's step ids.
        report: Whether to simulate the held-back period and compare (the fit report).
        lang: ``zh`` or ``en``: the report's language.
        **options: ``matter``, ``criterion`` (``aic``/``bic``), ``seed``,
            ``replications``, ``resamples``, ``executor``, ``workers``, ``staff`` (stated
            staff by agency id or recorded name: ``{"desk": 3}`` or ``"desk=3"``).

    Returns:
        The fitted objects and the fit tables.

    Raises:
        InputError: For bad records or options, naming the file, row and column.
    """
    from sim.analysis.calibration.fitted import fitted_numbers
    from sim.output.fit_report import write_calibration

    calibration = _calibration(
        records, procedure, since, until, test_share, calendar, columns, mapping, out, options
    )
    evaluation = None
    if report:
        from sim.analysis.calibration.evaluation import evaluate

        evaluation = evaluate(
            calibration,
            replications=options.get("replications"),
            executor=options.get("executor", "serial"),
            workers=options.get("workers"),
        )
    files: list[Path] = []
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        files = write_calibration(evaluation, calibration, Path(out), lang)
    return CalibrationResult(
        procedure=calibration.procedure,
        scenario=calibration.scenario,
        files=tuple(files),
        fitted=fitted_numbers(calibration),
        summary=evaluation.summary if evaluation else pd.DataFrame(),
        steps=evaluation.steps if evaluation else pd.DataFrame(),
        arrivals=evaluation.arrivals if evaluation else pd.DataFrame(),
        calibration=calibration,
    )


def _calibration(
    records, procedure, since, until, test_share, calendar, columns, mapping, out, options
):
    """Read the records and fit them (`calibrate` without the report)."""
    from sim.analysis.calibration.calibrate import Settings, calibrate_records
    from sim.domain.calendar import CalendarError, DayRule
    from sim.inputs.columns import parse_mapping
    from sim.inputs.records import read_records, read_step_mapping

    try:
        rule = DayRule.parse(calendar)
    except CalendarError as error:
        raise InputError(f"--calendar: {error}") from None
    roles = parse_mapping(columns) if isinstance(columns, str) or columns is None else dict(columns)
    settings = Settings(
        since=_date(since, "since"),
        until=_date(until, "until"),
        test_share=test_share,
        rule=rule,
        procedure=load_procedure(Path(procedure)) if procedure is not None else None,
        mapping=read_step_mapping(mapping) if mapping is not None else None,
        mapping_file=Path(mapping) if mapping is not None else None,
        staff=_staff(options.get("staff")),
        **{
            k: v
            for k, v in options.items()
            if k in ("matter", "criterion", "seed", "replications", "resamples")
        },
    )
    if settings.criterion not in ("aic", "bic"):
        raise InputError(f"--criterion takes 'aic' or 'bic', not '{settings.criterion}'")
    return calibrate_records(read_records(records, roles), settings, out or ".")


def _staff(value: dict[str, int] | str | None) -> dict[str, int] | None:
    """Stated staff: ``{"agency": 3}`` or ``"agency=3,other=2"``."""
    if value is None or isinstance(value, dict):
        return value
    found = {}
    for part in str(value).split(","):
        agency, equals, count = part.partition("=")
        if not equals or not count.strip().isdigit():
            raise InputError(f"--staff takes agency=count pairs; got '{part.strip()}'")
        found[agency.strip()] = int(count)
    return found


def _date(value: dt.date | str | None, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"--{name} takes a date as YYYY-MM-DD, not '{value}'") from None
