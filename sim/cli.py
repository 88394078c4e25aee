"""The `approvalsim` command line (also `python -m sim`)."""

from __future__ import annotations

import os
import signal
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from sim.analysis import summarize_run
from sim.analysis.contributions import default_variant, reform_contributions
from sim.domain.errors import InputError
from sim.domain.model import Counting
from sim.inputs.loader import PROJECT_ROOT, load_procedure
from sim.inputs.schema import CountingSpec
from sim.inputs.validation import explain
from sim.inputs.yaml import read_yaml
from sim.output.compare import compare_runs, write_comparison
from sim.output.console import (
    print_calibration,
    print_comparison,
    print_result,
    print_schedules,
    print_sweep,
)
from sim.output.eventlog import EVENT_BYTES, LARGE_EVENTLOG, eventlog_bytes, write_eventlog
from sim.output.eventlog import FORMATS as EVENTLOG_FORMATS
from sim.output.report import REPORT_FILES, FontWarning, write_saved_report
from sim.output.rundata import (
    load_saved,
    read_run,
    report_tables,
    run_about,
    scenario_data,
    write_run_data,
)
from sim.output.sweeps import SWEEP_FILES, write_sweep
from sim.output.tables import FORMATS, KEEP, write_tables
from sim.output.workbook import write_workbook
from sim.reforms import load_scenario
from sim.run.cache import prune
from sim.run.experiment import run_experiment
from sim.run.files import LOCK, ResultsFolder, remove_staging
from sim.run.limits import check_scenario
from sim.sweep import cheapest_points, setting_columns
from sim.sweep import sweep as run_sweep

app = typer.Typer(
    name="approvalsim",
    help="Simulate government approval and utility-connection procedures and their reforms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help (click's layout): the rich panels print `<bool>` beside every flag.
    rich_markup_mode=None,
)
# The files a run writes into its results folder (besides `runs/` and the manifest).
OUTPUTS = (
    "cases.csv",
    "cases.parquet",
    "steps.csv",
    "steps.parquet",
    "summary.csv",
    "comparison.csv",
    "agencies.csv",
    "contributions.csv",
    "results.xlsx",
    "scenario.json",
    "report_data.json",
    "eventlog.csv",
    "eventlog.xes",
    "report.html",
    "report.md",
)
# Piped output is not cut to 80 columns: tables stay readable in a log file.
console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True)


# Options several commands share.
ScenarioFile = Annotated[
    Path | None, typer.Argument(help="Scenario file (default: the bundled demo).")
]
ExecutorName = Annotated[
    str | None, typer.Option(help="serial, process (one worker a core; the default) or dask.")
]
Workers = Annotated[int | None, typer.Option(min=1, help="Worker processes.")]
Scheduler = Annotated[
    str | None,
    typer.Option(help="Run on an existing Dask cluster (tls://HOST:PORT); implies dask."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def fail(error: Exception) -> None:
    """Print one line for a user's mistake and exit with code 2."""
    # The message is text, not markup: `[horizon]` or a condition's `["A", "B"]` must show.
    errors.print(
        "[bold red]error:[/] " + escape(" ".join(part.strip() for part in str(error).splitlines())),
        highlight=False,
        markup=True,
        soft_wrap=True,
    )
    raise typer.Exit(code=2)


@app.command()
def run(
    file: ScenarioFile = None,
    replications: Annotated[
        int | None, typer.Option("--replications", "-r", min=1, help="Replications.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Root seed (default: the file's).")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", "-v", help="Run only this variant (repeatable)."),
    ] = None,
    executor: ExecutorName = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    engine: Annotated[
        str,
        typer.Option(
            help="des (queues at staffed agencies), numpy (no staff limits, vectorised), "
            "deterministic (Doing Business critical path, one replication) or simpy (the "
            "reference model: des's model written plainly in SimPy, the same numbers, slower)."
        ),
    ] = "des",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder (default results/<scenario>).")
    ] = None,
    steps: Annotated[
        str,
        typer.Option(
            help="Step rows to keep: the 'first' replication's, or 'all' (written to "
            "steps.csv; several rows a case). Queue figures use every replication either way."
        ),
    ] = "first",
    keep: Annotated[
        list[str] | None,
        typer.Option(
            help="Also keep: cases (every replication's case rows), steps (the step rows), "
            "cache (the finished replications, to rerun at once), all. Repeatable or "
            "comma-separated."
        ),
    ] = None,
    table_format: Annotated[
        str,
        typer.Option("--format", help="csv, or parquet for the case and step rows (compressed)."),
    ] = "csv",
    report: Annotated[
        bool,
        typer.Option("--report/--no-report", help="Write report.html and report.md."),
    ] = True,
    lang: Annotated[str, typer.Option(help="Labels of the report and workbook: zh or en.")] = "zh",
    eventlog: Annotated[
        str | None, typer.Option(help="Also write the step executions as an event log: csv or xes.")
    ] = None,
    counting: Annotated[
        str | None,
        typer.Option(
            help="How --engine deterministic counts: cn (committed working days, 承诺时限) or "
            "db (Doing Business calendar days); default: the scenario's `counting:`, else by "
            "the unit of each procedure's target."
        ),
    ] = None,
    minimum_one_day: Annotated[
        bool | None,
        typer.Option(
            "--minimum-one-day/--no-minimum-one-day", help="Counting: a step takes a day at least."
        ),
    ] = None,
    online_half_day: Annotated[
        bool | None,
        typer.Option(
            "--online-half-day/--no-online-half-day",
            help="Counting: a step done fully online takes half a day.",
        ),
    ] = None,
    consecutive_starts: Annotated[
        bool | None,
        typer.Option(
            "--consecutive-starts/--no-consecutive-starts",
            help="Counting: steps that could start together start on consecutive days.",
        ),
    ] = None,
    edition: Annotated[
        int | None,
        typer.Option(help="Counting: the Doing Business edition whose rules to follow (year)."),
    ] = None,
    indicator: Annotated[
        str | None,
        typer.Option(
            help="Counting: the Doing Business indicator (getting_electricity has no half days)."
        ),
    ] = None,
    contributions: Annotated[
        bool,
        typer.Option(
            "--contributions",
            help="Run each reform of the package alone and cumulatively for the report "
            "(extra runs: one variant per reform and per prefix).",
        ),
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Run a scenario's baseline and variants, print the comparison, write the results.

    The results folder gets the summary, comparison and agency tables, the case rows of
    the first replication, results.xlsx and the report (and what --keep adds); the files
    are written into a staging folder and moved in together, with ``manifest.json`` last.
    """
    created: list[Path] = []
    holder: list[ResultsFolder] = []
    with _one_line_errors(created, holder):
        executor = _executor(executor, scheduler)
        kept = _keep(keep)
        _choice("--steps", steps, ("first", "all"))
        _choice("--lang", lang, ("zh", "en"))
        _choice("--format", table_format, FORMATS)
        if eventlog is not None:
            _choice("--eventlog", eventlog, EVENTLOG_FORMATS)
        scenario = load_scenario(file)
        asked = (
            ("method", counting),
            ("minimum_one_day", minimum_one_day),
            ("online_half_day", online_half_day),
            ("consecutive_starts", consecutive_starts),
            ("edition", edition),
            ("indicator", indicator),
        )
        scenario = _counted(scenario, {key: value for key, value in asked if value is not None})
        folder = output or Path("results") / scenario.name
        created += _check_writable(folder)
        # Tables and figures are made side by side, unless the run was kept serial.
        side_by_side = 1 if executor == "serial" else workers
        options = {"executor": executor, "workers": workers, "quiet": quiet}
        if engine == "deterministic":
            replications = 1  # one fixed path: replications would only repeat it
        if eventlog:
            _warn_eventlog_size(scenario, variant, replications, steps, eventlog)
        # Case rows of the first replication only, unless every one's is written: the
        # summary and comparison read every replication's figures (`sim.run.figures`).
        cases = "all" if "cases" in kept or (eventlog and steps == "all") else "first"
        # Step rows are several a case: none are made when nothing reads them.
        made = steps if report or eventlog or "steps" in kept or steps == "all" else "none"
        with ResultsFolder(folder) as results:
            holder.append(results)
            with _progress(not quiet and progress_enabled()) as progress:
                result = run_experiment(
                    scenario,
                    replications=replications,
                    seed=seed,
                    variants=variant,
                    executor=executor,
                    workers=workers,
                    scheduler=scheduler,
                    engine=engine,
                    cache=folder / "runs",
                    progress=progress,
                    steps=made,
                    cases=cases,
                )
            result = summarize_run(result, workers=side_by_side)
            staging = results.staging
            bar = not quiet and progress_enabled()
            with _progress(bar, "writing tables", unit="rows") as progress:
                staged = write_tables(
                    result,
                    staging,
                    steps=steps,
                    workers=side_by_side,
                    keep=kept,
                    format=table_format,
                    progress=progress,
                )
            if eventlog:
                chosen = None if steps == "all" else [0]
                with _progress(bar, f"writing eventlog.{eventlog}", unit="events") as progress:
                    staged.append(
                        write_eventlog(
                            result,
                            staging / f"eventlog.{eventlog}",
                            eventlog,
                            lang,
                            replications=chosen,
                            progress=progress,
                        )
                    )
            table = _contributions(result, folder, contributions, variant, options)
            data = None
            if report:
                with _progress(bar, "report data (median cases, slow tails)", thread=False) as p:
                    data = report_tables(result, workers=side_by_side, progress=p)
            staged += write_run_data(
                staging, scenario_data(scenario, tuple(result.variants)), data, table
            )
            about = {
                **run_about(result, engine),
                "lang": lang,
                "format": table_format,
                "keep": sorted(kept),
            }
            saved = load_saved(staging, about, table is not None, report_data=report)
            staged.append(write_workbook(saved, staging / "results.xlsx", lang))
            if report:
                staged += _report_files(saved, staging, lang)
            written = results.commit(staged, about, owned=OUTPUTS)
            prune(folder / "runs", keep=result.run_id if "cache" in kept else None)
    for note in result.notes:
        errors.print("warning: " + escape(note), highlight=False, soft_wrap=True)
    if result.cases.empty:
        errors.print(
            "warning: no case arrived in the arrival period (check `arrivals_per_day:` and "
            "the horizon): the tables have their headers only",
            highlight=False,
            soft_wrap=True,
        )
    print_result(console, result, lang)
    if engine == "deterministic":
        print_schedules(console, result, lang)
    reused = result.replications - result.computed
    note = f" ({reused} reused from an earlier run)" if reused else ""
    console.print(
        f"\n{result.replications} replication(s), seed {result.seed}, run {result.run_id}{note}."
    )
    console.print(
        f"Wrote {len(written)} files into {folder}: " + ", ".join(p.name for p in written),
        highlight=False,
    )


@app.command("report")
def report_command(
    folder: Annotated[Path, typer.Argument(help="A results folder written by `approvalsim run`.")],
    lang: Annotated[str | None, typer.Option(help="zh or en (default: the run's).")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write report.html and report.md (default: the results folder).",
        ),
    ] = None,
) -> None:
    """Rebuild a saved run's report from its files, without simulating."""
    created: list[Path] = []
    with _one_line_errors(created):
        if lang is not None:
            _choice("--lang", lang, ("zh", "en"))
        saved = read_run(folder)
        if not saved.has_report_data:
            raise InputError(
                "this run was written with --no-report: run it again without it to report it",
                file=folder,
            )
        target = output or folder
        created += _check_writable(target)
        language = lang or saved.manifest.get("lang", "zh")
        if target.resolve() == Path(folder).resolve():
            # The report is one of the run's files: rewritten under its lock, manifest updated.
            with ResultsFolder(folder) as results:
                files = _report_files(saved, results.staging, language)
                about = {k: v for k, v in saved.manifest.items() if k not in ("files", "written")}
                kept = [n for n in saved.manifest.get("files", {}) if n not in REPORT_FILES]
                written = results.commit(files, about, kept=kept)
        else:
            written = _report_files(saved, target, language)
    console.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)


@app.command("sweep")
def sweep_command(
    file: ScenarioFile = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PATH=VALUES to sweep (repeatable): agencies.housing_bureau.staff=8..14, "
            "procedures.construction_social.arrivals_per_day=0.5,1,2.",
        ),
    ] = None,
    replications: Annotated[
        int | None, typer.Option("--replications", "-r", min=1, help="Replications a point.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Root seed of every point (default: the file's).")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", "-v", help="Also run this variant at each point (repeatable)."),
    ] = None,
    executor: ExecutorName = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    engine: Annotated[str, typer.Option(help="des, numpy, deterministic or simpy.")] = "des",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Folder (default results/sweep_<scenario>)."),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(help="cache: keep the finished replications (to rerun at once)."),
    ] = None,
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
    quiet: Quiet = False,
) -> None:
    """Run a scenario at every point of a grid of settings: one tidy table and a small report.

    Every point runs with the same seed (common random numbers), resumes like a run, and
    the report shows the share within target against the swept values and the cheapest
    point that meets the target at the 90th percentile.
    """
    created: list[Path] = []
    holder: list[ResultsFolder] = []
    with _one_line_errors(created, holder):
        executor = _executor(executor, scheduler)
        kept = _keep(keep)
        _choice("--lang", lang, ("zh", "en"))
        scenario = load_scenario(file)
        folder = output or Path("results") / f"sweep_{scenario.name}"
        created += _check_writable(folder)
        with ResultsFolder(folder) as results:
            holder.append(results)
            with _progress(not quiet and progress_enabled()) as progress:
                table = run_sweep(
                    file,
                    setting or [],
                    replications=replications,
                    seed=seed,
                    variants=variant,
                    executor=executor,
                    workers=workers,
                    scheduler=scheduler,
                    engine=engine,
                    cache=folder / "runs",
                    progress=progress,
                )
            settings = setting_columns(table)
            cheapest = cheapest_points(table)
            about = {
                "scenario": scenario.name,
                "seed": scenario.seed if seed is None else seed,
                "replications": int(table["replications"].max()) if len(table) else 0,
                "settings": settings,
                "points": int(table["point"].nunique()),
                "executor": executor,
                "lang": lang,
            }
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", FontWarning)
                staged = write_sweep(
                    table, cheapest, settings, scenario_data(scenario), about, results.staging, lang
                )
            written = results.commit(staged, about, owned=SWEEP_FILES)
            if "cache" not in kept:
                prune(folder / "runs")
    for warning in caught:
        errors.print("warning: " + escape(str(warning.message)), highlight=False, soft_wrap=True)
    print_sweep(console, table, cheapest, settings)
    console.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)


@app.command()
def compare(
    first: Annotated[Path, typer.Argument(help="The earlier run's results folder (A).")],
    second: Annotated[Path, typer.Argument(help="The later run's results folder (B).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write compare.html, .md and .csv (default: none)."
        ),
    ] = None,
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
) -> None:
    """What changed between two saved runs: scenario differences and figures side by side."""
    created: list[Path] = []
    with _one_line_errors(created):
        _choice("--lang", lang, ("zh", "en"))
        comparison = compare_runs(read_run(first), read_run(second))
        written = []
        if output is not None:
            created += _check_writable(output)
            written = write_comparison(comparison, output, lang)
    print_comparison(console, comparison)
    if written:
        console.print("Wrote " + ", ".join(str(p) for p in written), highlight=False)


@app.command()
def clean(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(help="Results folders (default: every folder under results/)."),
    ] = None,
) -> None:
    """Remove the resume caches (runs/) and left-over staging folders of results folders."""
    created: list[Path] = []
    with _one_line_errors(created):
        chosen = folders or sorted(p for p in Path("results").glob("*") if p.is_dir())
        freed = 0
        for folder in chosen:
            if not folder.is_dir():
                raise InputError("no such results folder", file=folder)
            try:
                with ResultsFolder(folder, staging=False):
                    freed += prune(folder / "runs") + remove_staging(folder)
            except InputError as busy:
                errors.print(f"skipped: {escape(str(busy))}", highlight=False, soft_wrap=True)
    console.print(f"Freed {freed / 1e6:,.1f} MB in {len(chosen)} folder(s).")


@app.command()
def calibrate(
    records: Annotated[Path, typer.Argument(help="Case records: CSV, XLSX or XES (.xes.gz).")],
    procedure: Annotated[
        Path | None,
        typer.Option(help="Fit the numbers of this procedure file (default: discover the steps)."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="YAML or CSV mapping the records' step names to the procedure's ids."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder (default results/calibrate_<records>)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="First day of the period to fit (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day of the period to fit (YYYY-MM-DD).")
    ] = None,
    test_share: Annotated[
        float, typer.Option(help="Share of the latest cases held back for the fit report.")
    ] = 0.3,
    calendar: Annotated[
        str,
        typer.Option(help="china (default), a country code (holidays package), weekdays or all."),
    ] = "china",
    columns: Annotated[
        str | None,
        typer.Option(help="Name the columns: case=COL,step=COL,start=COL,end=COL,..."),
    ] = None,
    matter: Annotated[
        str | None, typer.Option(help="The procedure (事项) to fit when the records hold several.")
    ] = None,
    criterion: Annotated[str, typer.Option(help="Information criterion: aic or bic.")] = "aic",
    staff: Annotated[
        str | None,
        typer.Option(help="Stated staff instead of the fitted: AGENCY=N,... (id or name)."),
    ] = None,
    replications: Annotated[
        int, typer.Option("--replications", "-r", min=1, help="Replications of the fit report.")
    ] = 10,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the bootstrap and the scenario.")
    ] = 20250101,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    report: Annotated[
        bool,
        typer.Option("--report/--no-report", help="Simulate the held-back period and compare."),
    ] = True,
    lang: Annotated[str, typer.Option(help="Labels of the report: zh or en.")] = "zh",
) -> None:
    """Fit a procedure and scenario to case records; write them and a fit report."""
    import sim

    created: list[Path] = []
    holder: list[ResultsFolder] = []
    with _one_line_errors(created, holder):
        if lang not in ("zh", "en"):
            raise InputError(f"--lang takes 'zh' or 'en', not '{lang}'")
        folder = out or Path("results") / f"calibrate_{records.name.split('.')[0]}"
        if not records.is_file():
            raise InputError(
                "no such file" if not records.exists() else "is not a file", file=records
            )
        created += _check_writable(folder)
        with ResultsFolder(folder) as results:
            holder.append(results)
            result = sim.calibrate(
                records,
                procedure=procedure,
                out=results.staging,
                since=since,
                until=until,
                test_share=test_share,
                calendar=calendar,
                columns=columns,
                mapping=mapping,
                report=report,
                lang=lang,
                matter=matter,
                criterion=criterion,
                staff=staff,
                replications=replications,
                seed=seed,
                executor="serial" if workers in (None, 1) else "process",
                workers=workers,
            )
            about = {"command": "calibrate", "records": str(records), "seed": seed}
            written = results.commit(result.files, about)
    print_calibration(console, result, lang)
    console.print("Wrote " + ", ".join(str(path) for path in written))


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario or procedure files.")],
) -> None:
    """Check scenario and procedure files without running them."""
    for path in files:
        try:
            data = read_yaml(path)
            if "seed" in data:
                scenario = load_scenario(path)
                check_scenario(scenario)
                console.print(
                    f"{path}: scenario '{scenario.name}' with {len(scenario.demands)} procedures "
                    f"and {len(scenario.variants)} variants is valid"
                )
            else:
                procedure = load_procedure(path)
                console.print(f"{path}: procedure '{procedure.id}' is valid")
        except InputError as error:
            fail(error)


@app.command("list")
def list_bundled() -> None:
    """List the bundled scenarios and procedures."""
    for folder in ("scenarios", "processes"):
        table = Table(title=folder, show_lines=False)
        table.add_column("file")
        table.add_column("id")
        table.add_column("title")
        for path in sorted((PROJECT_ROOT / folder).glob("*.yaml")):
            try:
                data = read_yaml(path)
            except InputError as error:
                table.add_row(path.name, "?", escape(str(error)))
                continue
            name = data.get("name")
            title = data.get("title") or (
                f"{name.get('zh', '')} / {name.get('en', '')}" if isinstance(name, dict) else ""
            )
            table.add_row(path.name, str(data.get("id") or name), str(title))
        console.print(table)


def _counted(scenario, chosen: dict):
    """The scenario counting as the command line asks (options left out keep its own)."""
    if not chosen:
        return scenario
    try:
        spec = CountingSpec.model_validate({**scenario.counting.__dict__, **chosen})
    except ValidationError as error:
        message, loc = explain(error, CountingSpec, chosen)
        option = "counting" if loc[0] == "method" else str(loc[0])
        raise InputError(f"--{option.replace('_', '-')}: {message}") from None
    return scenario.with_counting(Counting(**spec.model_dump()))


def _contributions(result, folder: Path, wanted: bool, variants, options):
    """The reform contributions of the package (``--contributions``), or None."""
    if not wanted:
        return None
    package = [v for v in (variants or []) if v != "baseline"]
    chosen = package[-1] if package else default_variant(result.scenario)
    with _progress(not options["quiet"] and progress_enabled(), "reform contributions") as bar:
        return reform_contributions(
            result.scenario,
            variant=chosen,
            replications=result.replications,
            seed=result.seed,
            executor=options["executor"],
            workers=options["workers"],
            cache=folder / "runs",
            progress=bar,
        )


def _report_files(saved, folder: Path, lang: str) -> list[Path]:
    """Write the report of a saved run; a missing CJK font is one warning line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FontWarning)
        written = write_saved_report(saved, folder, lang)
    for warning in caught:
        errors.print("warning: " + escape(str(warning.message)), highlight=False, soft_wrap=True)
    return written


def _executor(executor: str | None, scheduler: str | None) -> str:
    """The executor asked for: ``--scheduler`` means Dask, and says so if another was named."""
    if scheduler is not None:
        if executor not in (None, "dask"):
            raise InputError(
                f"--scheduler runs on a Dask cluster: it does not go with --executor {executor} "
                "(leave --executor out, or give --executor dask)"
            )
        return "dask"
    return executor or "process"


def _keep(values: list[str] | None) -> set[str]:
    """What ``--keep`` asks for (repeatable, comma-separated; ``all`` is everything)."""
    chosen = {part.strip() for value in values or [] for part in value.split(",") if part.strip()}
    for name in chosen:
        _choice("--keep", name, (*KEEP, "all"))
    return set(KEEP) if "all" in chosen else chosen


def _choice(option: str, value: str, allowed) -> None:
    if value not in allowed:
        quoted = ", ".join(f"'{a}'" for a in allowed)
        raise InputError(f"{option} takes {quoted}, not '{value}'")


def _warn_eventlog_size(scenario, variants, replications, steps, eventlog) -> None:
    """Say before the run starts when its event log would be large (about 1 GB or more)."""
    names = tuple(variants) if variants else scenario.variant_names
    names = ("baseline", *(n for n in names if n != "baseline" and n in scenario.variant_names))
    kept = (replications or scenario.replications) if steps == "all" else 1
    size = eventlog_bytes(scenario, names, kept, eventlog)
    if size >= LARGE_EVENTLOG:
        errors.print(
            f"warning: eventlog.{eventlog} will be about {size / 1e9:,.1f} GB (about "
            f"{size / EVENT_BYTES[eventlog] / 1e6:,.0f} million events of {len(names)} "
            f"variant(s) x {kept} replication(s)); choose fewer with --variant, "
            "or --steps first, or the smaller csv format",
            highlight=False,
            soft_wrap=True,
        )


@contextmanager
def _one_line_errors(created: list[Path], results: list[ResultsFolder] | None = None):
    """A user's mistake, an unwritable folder or memory running out: one line, exit 2.

    Args:
        created: The folders the command created (filled as it goes): removed again if
            they stayed empty.
        results: The results folder being written, once there is one: a file in its
            staging folder is named by its place in the results folder.
    """
    try:
        yield
    except InputError as error:
        _remove_empty(created)
        fail(error)
    except OSError as error:
        _remove_empty(created)
        reason = error.strerror or str(error) or type(error).__name__
        where = results[0].public(error.filename) if results else error.filename
        fail(InputError(f"cannot write results: {reason}", file=where))
    except MemoryError:
        _remove_empty(created)
        fail(
            InputError(
                "ran out of memory: run fewer replications or variants, or a shorter horizon"
            )
        )


def _check_writable(folder: Path) -> list[Path]:
    """Make sure ``folder`` can take the results; return the folders this call created."""
    if folder.exists() and not folder.is_dir():
        raise InputError("the results path exists and is not a folder", file=folder)
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot create the results folder: {error.strerror or error}", file=folder
        ) from None
    probe = folder / ".write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        _remove_empty(missing)
        raise InputError(
            f"cannot write into the results folder: {error.strerror or error}", file=folder
        ) from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed run created, innermost first, if they stayed empty."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        (folder / LOCK).unlink(missing_ok=True)
        for inner in (folder / "runs", folder):
            try:
                inner.rmdir()
            except OSError:
                pass


class _progress:
    """A rich progress bar (replications, rows, events), or nothing when quiet."""

    def __init__(
        self,
        enabled: bool,
        description: str = "replications",
        thread: bool = True,
        unit: str = "",
    ):
        self.enabled = enabled
        self.description = description
        self.thread = thread
        self.unit = unit

    def __enter__(self):
        if not self.enabled:
            return None
        self.bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            *([TextColumn(self.unit)] if self.unit else []),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            auto_refresh=self.thread,
        )
        self.bar.start()
        self.task = self.bar.add_task(self.description, total=None)

        def update(done: int, total: int) -> None:
            self.bar.update(self.task, completed=done, total=total, refresh=not self.thread)

        return update

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.stop()


def progress_enabled(stream=None) -> bool:
    """Whether to show a progress bar: on a terminal, and not under CI."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


_signals_seen = 0


def _interrupted(signum: int, frame) -> None:
    # SystemExit unwinds through `finally:` blocks, so temporary files are removed, pool
    # workers are stopped, and click does not turn it into a bare "Aborted!". A second
    # signal while that unwinding takes long ends the process at once (its workers die
    # with it, `sim.run.workers`).
    global _signals_seen
    _signals_seen += 1
    if _signals_seen > 1:
        os._exit(128 + signum)
    errors.print("interrupted: finished replications are kept; run again to resume")
    raise SystemExit(128 + signum)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library's warning as one line (Python's default adds the line of source code)."""
    errors.print("warning: " + escape(str(message)), highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point of the `approvalsim` command."""
    warnings.showwarning = _show_warning
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    try:
        app()
    except SystemExit as stop:
        if not _signals_seen:
            raise
        # Interrupted: what is kept was saved and the staging folder removed while the
        # exit unwound. Skip the interpreter's exit hooks, which join the process pool's
        # threads and can block on workers that were just stopped.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop.code if isinstance(stop.code, int) else 1)


if __name__ == "__main__":
    main()
