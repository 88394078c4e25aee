"""The run report: ``report.html`` (self-contained) and ``report.md``.

`write_report` renders two jinja2 templates (``sim/output/templates``) from one context built
by `build_context`. The HTML embeds every figure as inline SVG with the text drawn as
outlines, carries its own CSS and refers to nothing outside the file, so it opens
offline and shows the same on a machine without a CJK font. Autoescaping is on for the
HTML; the Markdown escapes every value it interpolates (``<``, ``>``, ``&`` as entities,
``|`` for tables), so names from scenario files cannot inject markup in either.

For each procedure the report shows the cycle-time distribution with the target, the
share within target with its interval, the six measures (六减: steps, materials,
certificates, trips, time, fees) with the paired change against the baseline, the
reform contributions (when computed, see `sim.analysis.contributions`), a Gantt chart of
a typical case per variant with its critical path (see `sim.analysis.casepath`),
and what the slowest 10% of cases spend their time on; then the agencies' utilisation
and queues with the overload warnings. A short plain-language summary comes first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from sim.analysis import casepath
from sim.analysis.cases import groups_by
from sim.domain.errors import InputError
from sim.engines import engine
from sim.output.sections import (
    agency_rows,
    comparison_index,
    contribution_metric,
    contribution_rows,
    ensure_tables,
    finite,
    fmt,
    highlight,
    lookup,
    measure_table,
    procedure_name,
    step_facts,
    tail_tables,
    target_gap,
    touches_procedure,
    variant_title,
)
from sim.output.text import BASIS, REPORT, unit_label
from sim.run.experiment import RunResult
from sim.run.files import write_atomically
from sim.run.forking import map_forked

# Below this many figures a report draws them in this process (workers cost a start).
MIN_PARALLEL_FIGURES = 8


class _Figures:
    """Figures of a report: `add` notes one and returns a placeholder; `render` draws them.

    Drawing is most of a report's time, and figures do not depend on each other, so with
    several workers they are drawn side by side (`sim.run.forking`). Each has its own id
    prefix, so the SVG text is the same however it was drawn.
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.jobs: list[tuple] = []

    def add(self, name: str, args: tuple, kwargs: dict) -> str:
        self.jobs.append((name, args, kwargs, self.lang, f"f{len(self.jobs) + 1}-"))
        return _placeholder(len(self.jobs))

    def render(self, context: Any, workers: int | None, progress=None) -> Any:
        drawn = map_forked(_draw_one, self.jobs, workers, progress, MIN_PARALLEL_FIGURES)
        table = {_placeholder(number): svg for number, svg in enumerate(drawn, start=1)}
        return _substitute(context, table)


def _placeholder(number: int) -> str:
    return f"\x00figure {number}\x00"


def _substitute(value: Any, table: dict[str, str]) -> Any:
    if isinstance(value, str):
        return table.get(value, value)
    if isinstance(value, dict):
        return {key: _substitute(item, table) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, table) for item in value]
    return value


def _draw_one(job: tuple) -> str:
    from sim.output import figures as plots  # matplotlib, loaded only to draw

    name, args, kwargs, lang, prefix = job
    with plots.deferred_drawing():
        figure = getattr(plots, name)(*args, lang=lang, **kwargs)
    return plots.to_svg(figure, prefix=prefix)


def build_context(
    result: RunResult,
    lang: str = "zh",
    contributions: pd.DataFrame | None = None,
    figures: bool = True,
    tail: float = 0.1,
    procedures: Sequence[str] | None = None,
    workers: int | None = None,
    progress=None,
) -> dict[str, Any]:
    """Everything the templates show, as plain values (and SVG text when ``figures``).

    Args:
        result: A run (`sim.run.experiment.run_experiment`); the summary tables are computed
            if missing.
        lang: ``zh`` or ``en`` (labels, names and text).
        contributions: The frame of `sim.analysis.contributions.reform_contributions`, or None.
        figures: Whether to draw the figures (the Markdown needs none).
        tail: The share of slowest cases analysed.
        procedures: Procedure ids to report on, in this order (default: every one run).
        workers: Processes drawing the figures (default: one a core).
        progress: Called with (drawn, total) as figures are drawn.

    Returns:
        The template context.
    """
    lang = "en" if lang == "en" else "zh"
    text = REPORT[lang]
    result = ensure_tables(result)
    scenario = result.scenario
    variants = [v for v in scenario.variant_names if v in set(result.variants)] + [
        v for v in result.variants if v not in scenario.variant_names
    ]
    render = _Figures(lang)

    def draw(name: str, *args: Any, **kwargs: Any) -> str:
        """The figure ``plots.<name>`` draws (its SVG in the end); empty when figures are off."""
        if not figures:
            return ""
        return render.add(name, args, kwargs)

    def figure_title(variant: str, suffix: str = "") -> str:
        if not figures:
            return ""
        return plots.variant_label(scenario, variant, plots.effective_lang(lang)) + suffix

    colours: dict[str, Any] = {}
    if figures:
        from sim.output import figures as plots  # matplotlib, loaded only to draw

        colours = plots.agency_colours(a.id for a in scenario.agencies)
    comparison = comparison_index(result.comparison)
    level = result.summary.set_index(["variant", "procedure"])
    procedures_present = list(dict.fromkeys(result.summary["procedure"]))
    if procedures is not None:
        unknown = [p for p in procedures if p not in procedures_present]
        if unknown:
            raise InputError(
                f"no procedure '{unknown[0]}' in this run; it has: {', '.join(procedures_present)}"
            )
        procedures_present = list(procedures)
    highlights: list[str] = []
    sections = []
    procedures_of = {v: casepath.VariantProcedures.of(scenario, v) for v in variants}
    # Each procedure's rows, split once: filtering the whole tables per figure is slow.
    cases_by_procedure = groups_by(result.cases, "procedure")
    steps_by_procedure = groups_by(result.steps, "procedure")
    for procedure in procedures_present:
        cases = cases_by_procedure.get(procedure, result.cases.iloc[:0])
        steps = steps_by_procedure.get(procedure, result.steps.iloc[:0])
        found = scenario.procedure_index.get(procedure)
        base = lookup(level, ("baseline", procedure))
        section: dict[str, Any] = {
            "id": procedure,
            "name": procedure_name(scenario, procedure, lang),
            "target": fmt(found.target_days, 1).rstrip("0").rstrip(".") if found else "–",
            "target_unit": unit_label(found.target_unit if found else "working_days", lang),
            "target_source": found.target_source if found else "",
            "highlights": [],
        }
        best: tuple[float, str] | None = None
        for variant in variants[1:]:
            other = lookup(level, (variant, procedure))
            if base is None or other is None or not touches_procedure(scenario, variant, procedure):
                continue
            sentence = highlight(
                scenario,
                procedure,
                variant,
                base,
                other,
                lookup(comparison, (variant, procedure, "share_within_target")),
                lang,
            )
            section["highlights"].append(sentence)
            gain = float(base["mean_days"]) - float(other["mean_days"])
            if finite(gain) and (best is None or gain > best[0]):
                best = (gain, sentence)
        # The summary at the top: per procedure, the variant that cuts the mean the most.
        if best is not None:
            highlights.append(best[1])
        section["variants"] = [variant_title(scenario, v, lang) for v in variants]
        section["measures"] = measure_table(result.summary, comparison, procedure, variants, lang)
        section["cycle_svg"] = draw("plot_cycle_times", cases, procedure, scenario, variants)
        section["share_svg"] = draw("plot_share_within_target", result.summary, procedure, scenario)
        # Reform contributions.
        section["contributions"] = None
        if contributions is not None and len(contributions):
            rows = contributions[contributions["procedure"] == procedure]
            if len(rows):
                package = str(rows["variant"].iloc[0])
                listed = contribution_rows(rows, lang)
                total = rows["position"].nunique()
                entry = {
                    "package": variant_title(scenario, package, lang),
                    "rows": listed,
                    "others": total - len(listed),
                    "metric": text[f"metric_{contribution_metric(rows)}"],
                    "alone_svg": draw(
                        "plot_reforms_alone",
                        rows,
                        procedure,
                        scenario,
                        metric=contribution_metric(rows),
                    ),
                    "waterfall_svg": draw(
                        "plot_waterfall",
                        rows,
                        procedure,
                        scenario,
                        metric=contribution_metric(rows),
                    ),
                }
                section["contributions"] = entry
        # The median case.
        chosen = casepath.median_case(cases, procedure, variants, 0, scenario.horizon.warmup_days)
        gantts = []
        for variant in variants:
            case_id = chosen.get(variant)
            if case_id is None:
                continue
            case = cases[
                (cases["replication"] == 0)
                & (cases["variant"] == variant)
                & (cases["case_id"] == case_id)
            ].iloc[0]
            completed = cases[
                (cases["replication"] == 0)
                & (cases["variant"] == variant)
                & (cases["procedure"] == procedure)
                & (cases["status"] == "completed")
            ]
            entry = {
                "variant": variant_title(scenario, variant, lang),
                "case_id": case_id,
                "elapsed": fmt(case["elapsed_working_days"]),
                "calendar": fmt(case["elapsed_calendar_days"]),
                "clock": fmt(case["approval_clock_days"]),
                "median": fmt(completed["elapsed_working_days"].median()),
                "svg": draw(
                    "plot_gantt",
                    casepath.case_timeline(steps, case, scenario, procedures_of[variant])
                    if figures
                    else None,
                    title=figure_title(variant, f" · {case_id}"),
                    colours=colours,
                ),
            }
            gantts.append(entry)
        section["gantts"] = gantts
        # The slow tail, and why a variant that changes the procedure misses its target.
        tails = []
        explained = [v for v in variants[1:] if touches_procedure(scenario, v, procedure)]
        for variant in variants:
            drivers = casepath.tail_drivers(
                cases,
                steps,
                scenario,
                procedure,
                variant,
                tail,
                procedures_of[variant],
            )
            if len(drivers) == 0:
                continue
            row = lookup(level, (variant, procedure))
            gap = None
            if row is not None and variant in (explained or variants[:1]):
                facts = step_facts(procedures_of[variant].steps(procedure))
                gap = target_gap(drivers, row, facts, lang)
            entry = {
                "variant": variant_title(scenario, variant, lang),
                **tail_tables(drivers, lang),
                "gap": gap,
                "svg": draw("plot_tail_drivers", drivers, title=figure_title(variant)),
            }
            tails.append(entry)
        section["tails"] = tails
        sections.append(section)
    agencies = {"rows": agency_rows(result, lang)}
    agencies["warnings"] = [
        f"{row['variant']}: {row['warning']}" for row in agencies["rows"] if row["overloaded"]
    ]
    agencies["utilisation_svg"] = agencies["queue_svg"] = ""
    if len(result.agencies):
        agencies["utilisation_svg"] = draw("plot_agency_utilisation", result.agencies, scenario)
        agencies["queue_svg"] = draw("plot_agency_queues", result.agencies, scenario)
    basis = [
        BASIS.get(b, {}).get(lang, b)
        for b in sorted(set(result.summary["interval_basis"].dropna().astype(str)))
    ]
    context = {
        "lang": lang,
        "t": text,
        "fixed": not engine(result.engine).random,
        "title": scenario.title or scenario.name,
        "scenario": scenario.name,
        "file": Path(scenario.file).name if scenario.file else "",
        "replications": result.replications,
        "seed": result.seed,
        "run_id": result.run_id,
        "interval_basis": "; ".join(basis),
        "variants": [
            {
                "name": v,
                "title": variant_title(scenario, v, lang),
                "reforms": [
                    r.label
                    for declared in scenario.variants
                    if declared.name == v
                    for r in declared.reforms
                ],
            }
            for v in variants
        ],
        "highlights": highlights,
        "warnings": agencies["warnings"],
        "procedures": sections,
        "agencies": agencies,
    }
    return render.render(context, workers, progress) if figures else context


# --------------------------------------------------------------------------- rendering


def _md_escape(value: Any) -> Any:
    """Escape a value for Markdown: user text shows as written, never as markup.

    HTML-significant characters become entities; Markdown's link, image and code
    characters get a backslash (so ``[x](javascript:...)`` or ``![](http://...)``
    is text, not a link or a remote image); bare web addresses are broken up so that
    renderers do not turn them into links; table pipes and line breaks are escaped.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    text = (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", " ")
        .replace("\n", " ")
    )
    text = _MD_SPECIAL.sub(r"\\\g<0>", text)
    return _MD_AUTOLINK.sub(lambda found: found[0].translate(_MD_ENTITIES), text)


# Backslash, code, table pipes, and a `]` that would close a link or image (`](`, `][`,
# `]:`): brackets elsewhere (intervals such as [0–71%]) and emphasis (`*`, `_`) only
# change how text looks; `#` only counts at the start of a line, where no value goes.
_MD_SPECIAL = re.compile(r"[\\`|]|\](?=[(\[:])")
# What GitHub-flavoured Markdown links without brackets: scheme://, www. and e-mail @.
_MD_AUTOLINK = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|\bwww\.|@")
_MD_ENTITIES = str.maketrans({":": "&#58;", ".": "&#46;", "@": "&#64;"})


def environment(markdown: bool):
    """The jinja2 environment of the report templates: autoescaped HTML, or escaped Markdown."""
    loader = jinja2.PackageLoader("sim.output", "templates")
    if markdown:
        return jinja2.Environment(
            loader=loader,
            autoescape=False,
            finalize=_md_escape,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(context: dict[str, Any]) -> str:
    """The HTML report from a `build_context` context (SVG embedded as is)."""
    context = dict(context)
    context["svg"] = lambda text: Markup(text or "")
    return environment(False).get_template("report.html.j2").render(**context)


def render_markdown(context: dict[str, Any]) -> str:
    """The Markdown report from a `build_context` context."""
    return environment(True).get_template("report.md.j2").render(**context)


def write_report(
    result: RunResult,
    output: Path,
    lang: str = "zh",
    contributions: pd.DataFrame | None = None,
    procedures: Sequence[str] | None = None,
    workers: int | None = None,
    progress=None,
) -> list[Path]:
    """Write ``report.html`` and ``report.md`` into the folder ``output``, each atomically.

    Args:
        result: The run (summary tables are computed if missing).
        output: The folder (created if needed).
        lang: ``zh`` or ``en``: labels, names and text.
        contributions: Reform contributions (`sim.analysis.contributions.reform_contributions`),
            or None to leave that part out.
        procedures: Procedure ids to report on (default: every one run).
        workers: Processes drawing the figures (default: one a core).
        progress: Called with (drawn, total) as figures are drawn.

    Returns:
        The files written.

    Raises:
        InputError: When ``procedures`` names a procedure the run does not have.
    """
    output = Path(output)
    context = build_context(
        result,
        lang=lang,
        contributions=contributions,
        figures=True,
        procedures=procedures,
        workers=workers,
        progress=progress,
    )
    html = render_html(context)
    markdown = render_markdown(context)
    written = []
    for name, body in (("report.html", html), ("report.md", markdown)):
        path = output / name
        write_atomically(path, lambda p, body=body: p.write_text(body, encoding="utf-8"))
        written.append(path)
    return written
