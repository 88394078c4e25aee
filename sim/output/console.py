"""What the command line prints: a run's figures per procedure, and fixed-time schedules.

Each function prints to a `rich.console.Console` it is given (the command line's
standard output), as tables that wrap on a narrow terminal.
"""

from __future__ import annotations

import math

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.analysis.agencies import busiest_agency
from sim.analysis.intervals import BASIS_FIXED
from sim.engines.deterministic import Schedule, representative, schedule
from sim.output.text import REPORT, SCHEDULE, pad, unit_label, variant_title, width
from sim.run.experiment import RunResult

# Columns a variant's name may take in the command line's tables before it folds.
VARIANT_COLUMN = 24


def format_schedule(result: Schedule, lang: str = "zh") -> str:
    """The critical path step by step, with the total, as text for the command line.

    Args:
        result: What `sim.engines.deterministic.schedule` found.
        lang: ``zh`` or ``en``.

    Returns:
        Lines of text.
    """
    labels = SCHEDULE["zh" if lang == "zh" else "en"]
    procedure = result.procedure
    method = result.rules.method
    lines = [f"{procedure.name.label(lang)} — {labels['title']}: {labels[method]}"]
    header = labels["header"]
    names = [procedure.step(item.step).name.label(lang) for item in result.path]
    columns = max([len(header[1])] + [width(name) for name in names])
    lines.append(
        f"{header[0]:>3}  {pad(header[1], columns)}  {header[2]:>6}  {header[3]:>6}  {header[4]:>6}"
    )
    for number, (item, name) in enumerate(zip(result.path, names, strict=True), start=1):
        lines.append(
            f"{number:>3}  {pad(name, columns)}  {item.start_day:>6g}  {item.end_day:>6g}  "
            f"{item.days:>6g}"
        )
    working = round(result.total_working_days, 3)
    dates = {"start": result.start_date, "end": result.end_date}
    if method == "db" and result.calendar_days is not None:
        total = labels["total_db"].format(cd=round(result.calendar_days, 3), wd=working)
        total += labels["dates"].format(**dates)
    else:
        total = labels["total"].format(wd=working)
        if result.calendar_days is not None:
            total += labels["calendar"].format(cd=round(result.calendar_days, 3), **dates)
    lines.append(total)
    rules = [
        labels[name]
        for name in ("minimum_one_day", "online_half_day", "consecutive_starts")
        if result.options.get(name)
    ]
    if result.conditional:
        key = (
            "conditional"
            if result.options.get("include_conditional", True)
            else ("conditional_dropped")
        )
        rules.append(labels[key].format(steps=", ".join(result.conditional)))
    skipped = [item.step.id for item in result.steps if not item.step.counted]
    if method == "db" and skipped:
        rules.append(labels["not_a_procedure"].format(steps=", ".join(skipped)))
    if rules:
        lines.append(labels["options"].format(rules="; ".join(rules)))
    return "\n".join(lines)


def _interval(row, column: str, percent: bool = False, digits: int = 1) -> str:
    value, low, high = row[column], row.get(f"{column}_low"), row.get(f"{column}_high")

    def fmt(x: float) -> str:
        return f"{100 * x:.0f}%" if percent else f"{x:.{digits}f}"

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = fmt(value)
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        text += f" [{fmt(low)}-{fmt(high)}]"
    return text


def print_result(console: Console, result: RunResult, lang: str = "zh") -> None:
    """Per procedure: each variant's figures with their intervals, then the agencies.

    Names and titles are in ``lang``; a fixed-time run's figures have no interval, and
    its agencies no utilisation.
    """
    summary = result.summary
    scenario = result.scenario
    names = {demand.procedure.id: demand.procedure for demand in scenario.demands}
    labels = REPORT["zh" if lang == "zh" else "en"]
    for procedure_id, rows in summary.groupby("procedure", sort=False):
        procedure = names.get(procedure_id)
        title = escape(procedure.name.label(lang) if procedure else procedure_id)
        table = Table(
            title=f"{title} — {labels['target']} {rows['target_days'].iloc[0]:g} "
            f"{unit_label(rows['target_unit'].iloc[0], lang)}",
            title_justify="left",
        )
        titles = {v: escape(variant_title(scenario, v, lang)) for v in rows["variant"]}
        # A narrow terminal wraps the figures under their intervals; variant names are
        # never cut (a long one folds onto further lines).
        name_width = min(max(cell_len(t) for t in titles.values()), VARIANT_COLUMN)
        table.add_column("variant", min_width=name_width, overflow="fold")
        for column in ("done", "mean wd", "mean cd", "median", "P90", "within target"):
            table.add_column(column, justify="right")
        table.add_column("clock wd", justify="right")
        table.add_column("within (clock)", justify="right")
        measures = Table(title="  per case (六减)", title_justify="left", box=None)
        measures.add_column("variant", min_width=name_width, overflow="fold")
        for column in ("steps", "materials", "certificates", "trips", "days", "fees ¥"):
            measures.add_column(column, justify="right")
        for _, row in rows.iterrows():
            variant = titles[row["variant"]]
            table.add_row(
                variant,
                f"{row['completed']:.0f}/{row['arrived']:.0f}",
                _interval(row, "mean_days"),
                _interval(row, "mean_calendar_days"),
                _interval(row, "median_days"),
                _interval(row, "p90_days"),
                _interval(row, "share_within_target", percent=True),
                _interval(row, "mean_clock_days"),
                _interval(row, "share_within_target_clock", percent=True),
            )
            measures.add_row(
                variant,
                *(f"{row[c]:.1f}" for c in ("steps", "materials", "certificates", "trips")),
                f"{row['mean_days']:.1f}",
                f"{row['fees_cny']:.0f}",
            )
        console.print(table)
        console.print(measures)
        basis = rows["interval_basis"].iloc[0]
        note = basis if basis == BASIS_FIXED else f"95% intervals; {basis}"
        console.print(f"  [{note}]", style="dim", highlight=False, markup=False)
    agencies = result.agencies
    for variant in result.variants:
        busiest = busiest_agency(agencies, variant)
        if busiest:
            console.print(
                f"Busiest agency ({variant}): {busiest[0]}, utilisation {100 * busiest[1]:.0f}%"
            )
    for _, row in agencies[agencies["overloaded"]].iterrows():
        console.print(f"[bold yellow]warning:[/] {row['variant']}: {row['warning']}")


def print_comparison(console: Console, comparison, shown: int = 40) -> None:
    """Two saved runs compared: the scenario differences, then the shares within target.

    Args:
        console: Where to print.
        comparison: A `sim.output.compare.RunComparison`.
        shown: How many scenario differences to print (all are in ``compare.md``).
    """
    runs = (comparison.first, comparison.second)
    for label, saved in zip("AB", runs, strict=True):
        manifest = saved.manifest
        console.print(
            f"{label}: {saved.folder} (scenario {manifest.get('scenario')}, run "
            f"{manifest.get('run_id')}, seed {manifest.get('seed')}, "
            f"{manifest.get('replications')} replication(s))",
            highlight=False,
            markup=False,
        )
    changes = comparison.changes
    console.print(f"\nScenario differences: {len(changes)}", style="bold")
    for path, before, after in changes[:shown]:
        console.print(
            f"  {path}: {_short(before)} -> {_short(after)}", highlight=False, markup=False
        )
    if len(changes) > shown:
        console.print(f"  ... {len(changes) - shown} more (compare --output DIR lists them all)")
    figures = comparison.figures
    shares = figures[figures["figure"] == "share_within_target"]
    table = Table(title="Share within target, A -> B (95% intervals)", title_justify="left")
    table.add_column("procedure", overflow="fold")
    table.add_column("variant", overflow="fold")
    for column in ("A", "B", "change (points)"):
        table.add_column(column, justify="right")
    for row in shares.itertuples(index=False):
        change = 100 * row.change
        low, high = 100 * row.change_low, 100 * row.change_high
        bounds = f" [{low:+.0f}, {high:+.0f}]" if math.isfinite(low) else ""
        table.add_row(
            row.procedure,
            row.variant,
            _share(row.first, row.first_low, row.first_high),
            _share(row.second, row.second_low, row.second_high),
            f"{'[bold]' if row.clear else ''}{change:+.0f}{bounds}{'[/]' if row.clear else ''}",
        )
    console.print(table)


def print_sweep(console: Console, table, cheapest, settings: list[str]) -> None:
    """A sweep: its points, and per procedure and variant the cheapest point meeting P90."""
    points = table["point"].nunique() if len(table) else 0
    console.print(f"{points} point(s) of {', '.join(settings)}", highlight=False)
    shown = Table(title="Cheapest point meeting the target at P90", title_justify="left")
    for column in ("procedure", "variant", *settings, "staff", "P90 wd", "target"):
        shown.add_column(column, overflow="fold")
    for _, row in cheapest.iterrows():  # setting columns are paths, not identifiers
        shown.add_row(
            str(row["procedure"]),
            str(row["variant"]),
            *(str(row[setting]) for setting in settings),
            str(row["total_staff"]),
            f"{row['p90_days']:.1f}",
            f"{row['target_days']:g}",
        )
    console.print(shown)
    missing = sorted(set(table["procedure"]) - set(cheapest["procedure"])) if len(table) else []
    if missing:
        console.print("No point meets the target at P90 for: " + ", ".join(missing))


def _share(value: float, low: float, high: float) -> str:
    text = f"{100 * value:.0f}%" if math.isfinite(value) else "-"
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{100 * max(low, 0):.0f}-{100 * min(high, 1):.0f}%]"
    return text


def _short(value, limit: int = 60) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_schedules(console: Console, result: RunResult, lang: str) -> None:
    """Each variant's procedures timed by the fixed-time method, step by step."""
    scenario = result.scenario
    for name in result.variants:
        console.print(f"\n[bold]{escape(variant_title(scenario, name, lang))}[/]")
        model = scenario.model(name)
        for demand in model.demands:
            timed = schedule(
                representative(demand), scenario.calendar, scenario.start, model.counting
            )
            console.print(format_schedule(timed, lang), markup=False, highlight=False)


def print_calibration(console: Console, result, lang: str = "en") -> None:
    """What a calibration fitted and, with a fit report, how well it fits.

    Args:
        console: Where to print.
        result: A `sim.CalibrationResult`.
        lang: ``zh`` or ``en`` for the sentences.
    """
    from sim.output.fit_report import sentences_of  # the calibration, loaded when used

    procedure = result.procedure
    table = Table(title=f"{procedure.name.label('en')}: fitted steps", show_lines=False)
    for column in ("step", "agency", "waits on", "handling", "waiting", "sent back"):
        table.add_column(column)
    for step in procedure.steps:
        fit = result.calibration.steps.get(step.id)
        table.add_row(
            step.id,
            step.agency,
            ", ".join(step.after),
            f"{step.handling.type_name} mean {step.handling.mean:.3g}",
            f"{step.waiting.type_name} mean {step.waiting.mean:.3g}",
            f"{fit.send_back:.1%}" if fit is not None else "(not in the records)",
        )
    console.print(table)
    summary = result.summary
    if not summary.empty:
        rows = summary[summary["unit"] == "working_days"]
        cycle = Table(title="Cycle time, working days (held-back cases)")
        for column in ("measure", "records", "simulated", "naive", "verdict"):
            cycle.add_column(column)
        for row in rows.itertuples(index=False):
            cycle.add_row(
                row.measure,
                _cell(row.records, row.records_low, row.records_high),
                _cell(row.simulated, row.simulated_low, row.simulated_high),
                _cell(row.naive, row.naive_low, row.naive_high),
                row.verdict,
            )
        console.print(cycle)
        for sentence in sentences_of(result, lang):
            console.print(f"- {sentence}", highlight=False, markup=False)
    for note in result.calibration.notes:
        console.print(f"note: {note}", highlight=False, markup=False)


def _cell(value: float, low: float, high: float) -> str:
    if not math.isfinite(value):
        return "–"
    text = f"{value:.3g}"
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{low:.3g}, {high:.3g}]"
    return text
