"""The run report: ``report.html`` (one self-contained page) and ``report.md``.

The page opens with a one-page summary a director reads in a minute: per procedure, the
share of cases within the published target for the baseline and each variant, with its
95% interval, and the one sentence that matters. The details follow one procedure at a
time, in collapsed sections: the cycle-time distribution against the target, the share
within target, the six measures (六减: steps, materials, certificates, trips, time, fees)
with the paired change against the baseline, the reform contributions (when computed,
`sim.analysis.contributions`), the median case's timeline with its critical path and
what the slowest 10% of cases spend their time on, for a variant chosen in the page
(`sim.analysis.casepath`); then the agencies' utilisation and queues.

Charts are drawn by the page itself from the data it carries (``templates/charts.js``,
plain SVG, no library), so the page stays small and quick to write; it refers to nothing
outside itself and opens offline. Its Chinese text is drawn with a subset of a CJK font
embedded in it (`sim.output.fonts`), so it shows on a machine without one. Printing
opens every section. Autoescaping is on for the HTML and the chart data is JSON escaped
for a script element; the Markdown escapes every value it interpolates (``<``, ``>``,
``&`` as entities, ``|`` for tables), so names from scenario files cannot inject markup.

The report is built from what a results folder keeps (`sim.output.rundata.SavedRun`), so
``approvalsim report RUN_DIR`` rebuilds it without simulating.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from sim.domain.errors import InputError
from sim.engines import engine
from sim.output.fonts import FAMILY, embedded_font_css
from sim.output.rundata import SavedRun, saved_run
from sim.output.sections import (
    Names,
    agency_rows,
    baseline_sentence,
    comparison_index,
    contribution_metric,
    contribution_rows,
    ensure_tables,
    finite,
    fmt,
    highlight,
    lookup,
    measure_table,
    share_with_interval,
    signed,
    step_facts,
    tail_tables,
    target_gap,
)
from sim.output.text import BASIS, FIGURES, REPORT, unit_label
from sim.run.experiment import RunResult
from sim.run.files import write_atomically

REPORT_FILES = ("report.html", "report.md")
KINDS = ("queue", "handling", "waiting", "correction", "delay")


class FontWarning(UserWarning):
    """The page's Chinese text cannot be embedded: it needs a CJK font where it is read."""


def build_context(saved: SavedRun, lang: str = "zh", procedures: Sequence[str] | None = None):
    """Everything the templates show, as plain values, and the charts' data.

    Args:
        saved: The run (`sim.output.rundata.SavedRun`: read from a results folder, or
            `sim.output.rundata.saved_run` of a run in memory).
        lang: ``zh`` or ``en`` (labels, names and text).
        procedures: Procedure ids to report on, in this order (default: every one run).

    Returns:
        The template context.

    Raises:
        InputError: When ``procedures`` names a procedure the run does not have.
    """
    lang = "en" if lang == "en" else "zh"
    text = REPORT[lang]
    names = Names(saved.scenario, lang)
    summary = saved.summary
    variants = [v for v in saved.variants if v in set(summary["variant"])] or saved.variants
    comparison = comparison_index(saved.comparison)
    level = summary.set_index(["variant", "procedure"]) if len(summary) else summary
    present = list(dict.fromkeys(summary["procedure"])) if len(summary) else []
    if procedures is not None:
        unknown = [p for p in procedures if p not in present]
        if unknown:
            raise InputError(
                f"no procedure '{unknown[0]}' in this run; it has: {', '.join(present)}"
            )
        present = list(procedures)
    titles = [names.variant(v) for v in variants]
    charts: dict[str, Any] = {"labels": chart_labels(lang), "procedures": {}}
    overview, sections = [], []
    for procedure in present:
        section, row, chart = _procedure(saved, names, procedure, variants, level, comparison, text)
        sections.append(section)
        overview.append(row)
        charts["procedures"][procedure] = chart
    agencies = {"rows": agency_rows(saved.agencies, names)}
    agencies["warnings"] = [
        f"{row['variant']}: {row['agency']}: {row['warning']}"
        for row in agencies["rows"]
        if row["overloaded"]
    ]
    charts["agencies"] = _agency_chart(saved.agencies, names, variants)
    basis = (
        [
            BASIS.get(b, {}).get(lang, b)
            for b in sorted(set(summary["interval_basis"].dropna().astype(str)))
        ]
        if len(summary)
        else []
    )
    scenario = saved.scenario
    manifest = saved.manifest
    return {
        "lang": lang,
        "t": text,
        "fixed": not engine(manifest.get("engine", "des")).random,
        "title": scenario.get("title") or scenario.get("name"),
        "scenario": scenario.get("name"),
        "file": scenario.get("file", ""),
        "replications": manifest.get("replications"),
        "seed": manifest.get("seed"),
        "run_id": manifest.get("run_id"),
        "engine": manifest.get("engine", ""),
        "interval_basis": "; ".join(basis),
        "variants": [
            {"name": v, "title": t, "reforms": names.reforms(v)}
            for v, t in zip(variants, titles, strict=True)
        ],
        "columns": titles,
        "overview": overview,
        "warnings": agencies["warnings"],
        "procedures": sections,
        "agencies": agencies,
        "charts": charts,
        "contributions_computed": saved.contributions is not None,
    }


def _procedure(saved, names, procedure, variants, level, comparison, text):
    """A procedure's section, its row of the summary and its charts' data."""
    lang = names.lang
    target, source = names.target(procedure)
    base = lookup(level, ("baseline", procedure))
    highlights, best = [], None
    for variant in variants[1:]:
        other = lookup(level, (variant, procedure))
        if base is None or other is None or not names.touches(variant, procedure):
            continue
        sentence = highlight(
            names,
            procedure,
            variant,
            base,
            other,
            lookup(comparison, (variant, procedure, "share_within_target")),
        )
        highlights.append(sentence)
        gain = float(base["mean_days"]) - float(other["mean_days"])
        if finite(gain) and (best is None or gain > best[0]):
            best = (gain, sentence, variant)
    headline = (
        best[1] if best else (baseline_sentence(names, procedure, base) if base is not None else "")
    )
    cells = []
    for variant in variants:
        found = lookup(level, (variant, procedure))
        compared = lookup(comparison, (variant, procedure, "share_within_target"))
        cell = {
            "value": "–",
            "mean": "",
            "change": "",
            "strong": False,
            "best": bool(best and best[2] == variant),
        }
        if found is not None:
            cell["value"] = share_with_interval(found)
            cell["mean"] = fmt(found["mean_days"])
        if variant != "baseline" and compared is not None and finite(compared["difference"]):
            cell["change"] = f"{signed(compared['difference'], 0, 100)} {text['points']}"
            cell["strong"] = bool(compared["distinguishable"])
        cells.append(cell)
    target_text = fmt(target, 1).rstrip("0").rstrip(".") if target is not None else "–"
    unit = names.unit(procedure)
    row = {
        "id": procedure,
        "name": names.procedure(procedure),
        "target": target_text,
        "target_unit": unit_label(unit, lang),
        "cells": cells,
        "sentence": headline,
    }
    contributions = _contributions(saved.contributions, procedure, names)
    chosen = best[2] if best else (variants[1] if len(variants) > 1 else variants[0])
    tails = saved.tails
    tail_rows = tails[tails["procedure"] == procedure] if len(tails) else tails
    # Why a variant misses the target: those that change the procedure, else the baseline.
    explained = [v for v in variants[1:] if names.touches(v, procedure)] or variants[:1]
    tail_sections = []
    for variant in variants:
        drivers = tail_rows[tail_rows["variant"] == variant] if len(tail_rows) else tail_rows
        if len(drivers):
            found = lookup(level, (variant, procedure))
            gap = None
            if found is not None and variant in explained:
                facts = step_facts(names, variant, procedure)
                gap = target_gap(drivers, found, facts, lang)
            tail_sections.append(
                {
                    "variant": variant,
                    "title": names.variant(variant),
                    **tail_tables(drivers, lang),
                    "gap": gap,
                }
            )
    gantts, gantt_chart = _gantts(saved.timelines, procedure, variants, names)
    section = {
        "id": procedure,
        "name": row["name"],
        "target": target_text,
        "target_unit": row["target_unit"],
        "target_source": source,
        "headline": headline,
        "overview": row,
        "highlights": highlights,
        "variants": [names.variant(v) for v in variants],
        "variant_ids": variants,
        "chosen": chosen,
        "measures": measure_table(saved.summary, comparison, procedure, variants, lang),
        "contributions": contributions["section"] if contributions else None,
        "gantts": gantts,
        "tails": tail_sections,
    }
    chart = {
        # The charts' axes count working days: a calendar-day target has no place on them.
        "target": target if unit == "working_days" else None,
        "variants": variants,
        "titles": section["variants"],
        "chosen": chosen,
        "cycle": _cycle_chart(saved.distributions, procedure, variants),
        "share": _share_chart(level, procedure, variants),
        "gantt": gantt_chart,
        "tail": _tail_chart(tail_rows, variants, names),
        **(contributions["chart"] if contributions else {}),
    }
    return section, row, chart


def _r(value: Any, digits: int = 3) -> float | None:
    """A number for the chart data, rounded (the tables keep every digit); None if missing."""
    return round(float(value), digits) if finite(value) else None


def _cycle_chart(distributions: pd.DataFrame, procedure: str, variants: list[str]) -> list:
    if not len(distributions):
        return []
    rows = distributions[distributions["procedure"] == procedure].set_index("variant")
    columns = [c for c in rows.columns if re.fullmatch(r"p\d\d", str(c))]
    out = []
    for variant in variants:
        if variant not in rows.index:
            out.append(None)
            continue
        found = rows.loc[variant]
        out.append({"n": int(found["completed"]), "q": [_r(found[c]) for c in columns]})
    return out


def _share_chart(level: pd.DataFrame, procedure: str, variants: list[str]) -> list:
    out = []
    for variant in variants:
        found = lookup(level, (variant, procedure))
        if found is None:
            out.append(None)
            continue
        out.append(
            [
                _r(100 * float(found["share_within_target"]), 1)
                if finite(found["share_within_target"])
                else None,
                _r(100 * max(0.0, float(found["share_within_target_low"])), 1)
                if finite(found["share_within_target_low"])
                else None,
                _r(100 * min(1.0, float(found["share_within_target_high"])), 1)
                if finite(found["share_within_target_high"])
                else None,
            ]
        )
    return out


def _gantts(timelines, procedure, variants, names) -> tuple[dict, dict]:
    """Each variant's median case: its caption, and its timeline's chart data."""
    captions: dict[str, dict[str, str]] = {}
    charts: dict[str, Any] = {}
    if not len(timelines):
        return captions, charts
    rows = timelines[timelines["procedure"] == procedure]
    for variant in variants:
        mine = rows[rows["variant"] == variant]
        if not len(mine):
            continue
        first = mine.iloc[0]
        captions[variant] = {
            "title": names.variant(variant),
            "case_id": str(first["case_id"]),
            "elapsed": fmt(first["elapsed_working_days"]),
            "calendar": fmt(first["elapsed_calendar_days"]),
            "clock": fmt(first["approval_clock_days"]),
            "median": fmt(first["variant_median_days"]),
        }
        charts[variant] = _timeline_chart(mine, names)
    return captions, charts


def _timeline_chart(segments: pd.DataFrame, names: Names) -> dict[str, Any]:
    """One case's timeline for ``charts.js``: its lines, agencies and segments."""
    lines: dict[int, list] = {}
    agencies: list[str] = []
    drawn = []
    for seg in segments.itertuples(index=False):
        step = seg.step_en if names.lang == "en" and seg.step_en else (seg.step_zh or seg.step)
        line = lines.setdefault(int(seg.row), [step, False])
        line[1] = line[1] or bool(seg.critical)
        agency = str(seg.agency).split("+")[0]
        if agency not in agencies:
            agencies.append(agency)
        drawn.append(
            [
                int(seg.row),
                KINDS.index(seg.kind) if seg.kind in KINDS else 1,
                _r(seg.start),
                _r(seg.end),
                int(bool(seg.on_clock)),
                int(bool(seg.critical)),
                agencies.index(agency),
            ]
        )
    return {
        "lines": [lines[k] for k in sorted(lines)],
        "agencies": [names.agency(a) for a in agencies],
        "agency_ids": agencies,
        "segments": drawn,
    }


def _tail_chart(rows: pd.DataFrame, variants: list[str], names: Names) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not len(rows):
        return out
    for variant in variants:
        drivers = rows[rows["variant"] == variant]
        if not len(drivers):
            continue
        per_step = drivers.groupby(["step", "agency"], sort=False)["tail_days"].sum()
        chosen = per_step.sort_values(ascending=False, kind="stable").head(10)
        first = drivers.drop_duplicates(["step", "agency"]).set_index(["step", "agency"])
        bars = []
        for key in chosen.index:
            found = first.loc[key]
            step = (
                found["step_en"]
                if names.lang == "en" and finite_text(found["step_en"])
                else found["step_zh"]
            )
            parts = drivers[(drivers["step"] == key[0]) & (drivers["agency"] == key[1])]
            values = [0.0] * len(KINDS)
            for part in parts.itertuples(index=False):
                if part.kind in KINDS:
                    values[KINDS.index(part.kind)] += float(part.tail_days)
            bars.append([f"{step} · {names.agency(key[1])}", [_r(v, 2) for v in values]])
        out[variant] = bars
    return out


def finite_text(value: Any) -> bool:
    """Whether a cell holds text (not missing)."""
    return isinstance(value, str) and bool(value)


def _contributions(frame: pd.DataFrame | None, procedure: str, names: Names):
    if frame is None or not len(frame):
        return None
    rows = frame[frame["procedure"] == procedure]
    if not len(rows):
        return None
    lang = names.lang
    metric = contribution_metric(rows)
    listed = contribution_rows(rows, lang)
    scale = 100.0 if metric == "share_within_target" else 1.0
    alone = rows[rows["mode"] == "alone"]
    cumulative = rows[rows["mode"] == "cumulative"].sort_values("position")
    if "relevant" in rows:
        keep = alone["relevant"].fillna(True).astype(bool)
        alone = alone[keep.to_numpy()]
    chart = {
        "metric": metric,
        "alone": [
            [
                str(row.reform),
                *(
                    _r(scale * getattr(row, f"{metric}_change{suffix}"), 2)
                    for suffix in ("", "_low", "_high")
                ),
            ]
            for row in alone.itertuples(index=False)
        ],
        "base": _r(scale * float(cumulative[f"baseline_{metric}"].iloc[0]), 2)
        if len(cumulative)
        else None,
        "steps": [
            [str(row.reform), _r(scale * float(getattr(row, f"{metric}_step")), 2)]
            for row in cumulative.itertuples(index=False)
        ],
    }
    package = str(rows["variant"].iloc[0])
    section = {
        "package": names.variant(package),
        "rows": listed,
        "others": rows["position"].nunique() - len(listed),
        "metric": REPORT[lang][f"metric_{metric}"],
    }
    return {"section": section, "chart": {"contributions": chart}}


def _agency_chart(agencies: pd.DataFrame, names: Names, variants: list[str]) -> dict[str, Any]:
    if not len(agencies):
        return {}
    rows = agencies[pd.to_numeric(agencies["utilisation"], errors="coerce").notna()]
    ids = list(dict.fromkeys(rows["agency"]))
    shown = [v for v in variants if v in set(rows["variant"])]
    indexed = rows.set_index(["agency", "variant"])
    util, queue = [], []
    for agency in ids:
        u, q = [], []
        for variant in shown:
            found = lookup(indexed, (agency, variant))
            if found is None:
                u.append(None)
                q.append(None)
                continue
            over = int(bool(found["overloaded"]))
            u.append(
                [
                    _r(100 * float(found["utilisation"]), 1),
                    _r(100 * max(0.0, float(found["utilisation_low"])), 1)
                    if finite(found["utilisation_low"])
                    else None,
                    _r(100 * float(found["utilisation_high"]), 1)
                    if finite(found["utilisation_high"])
                    else None,
                    over,
                ]
            )
            q.append(
                [
                    _r(found["mean_queue_days"], 2),
                    _r(max(0.0, float(found["mean_queue_days_low"])), 2)
                    if finite(found["mean_queue_days_low"])
                    else None,
                    _r(found["mean_queue_days_high"], 2),
                    over,
                ]
            )
        util.append(u)
        queue.append(q)
    return {
        "agencies": [names.agency(a) for a in ids],
        "variants": [names.variant(v) for v in shown],
        "utilisation": util,
        "queue": queue,
    }


def chart_labels(lang: str) -> dict[str, str]:
    """The fixed labels ``templates/charts.js`` draws, in ``lang``."""
    figures = FIGURES[lang]
    text = REPORT[lang]
    return {
        "working_days": figures["working_days"],
        "days_from_arrival": figures["days_from_arrival"],
        "target": figures["target"].replace("{target:g}", "{target}"),
        "share": figures["share_points"],
        "median": figures["median"],
        "p90": figures["p90"],
        "box": text["box_legend"],
        "kinds": [figures[k] for k in KINDS],
        "critical": figures["critical"],
        "off_clock": figures["off_clock"],
        "clock": figures["clock"],
        "change_share_within_target": figures["change_share"],
        "change_mean_days": figures["change_mean_days"],
        "level_share_within_target": figures["share_points"],
        "level_mean_days": figures["mean_days"],
        "baseline": figures["baseline"],
        "package": figures["package"],
        "utilisation": figures["utilisation"] + " (%)",
        "queue_days": figures["queue_days"],
        "tail_days": figures["tail_days"],
        "no_data": figures["no_data"],
        "overloaded": figures["overloaded"],
    }


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


def render_html(context: dict[str, Any], font: bool = True) -> str:
    """The HTML report from a `build_context` context, with its embedded CJK font.

    Args:
        context: The context.
        font: Embed a subset of a CJK font for the page's characters (`sim.output.fonts`);
            warns (`FontWarning`) when there is none to embed and the page has Chinese.
    """
    return render_page("report.html.j2", context, font)


def render_page(template: str, context: dict[str, Any], font: bool = True) -> str:
    """A page of the reports (run, comparison, sweep): its charts' data and its font added.

    The template shows ``context["charts"]`` to ``templates/charts.js`` as ``chart_data``.
    """
    context = dict(context)
    context["chart_data"] = Markup(script_json(context.get("charts", {})))
    context["font_family"] = FAMILY
    page = environment(False).get_template(template).render(**context)
    return embed_font(page) if font else page


def embed_font(page: str) -> str:
    """The page with the ``@font-face`` rule of a CJK subset for its characters.

    The rule goes where the template put ``/*font*/``; a page without any Chinese gets
    none. Without a CJK font to embed, a `FontWarning` says what the reader needs.
    """
    css, missing = embedded_font_css(page)
    cjk = [char for char in missing if _CJK.match(char)]
    if cjk:
        warnings.warn(
            f"{len(cjk)} Chinese characters of the report are not in an embedded font (no "
            "CJK font found to embed): they show only where the reader has a CJK font. "
            "Install one where reports are written (apt-get install fonts-wqy-microhei) or "
            "name its file in APPROVALSIM_CJK_FONT",
            FontWarning,
            stacklevel=2,
        )
    return page.replace("/*font*/", css, 1)


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0002ffff]")


def script_json(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` element: no ``</script>`` can end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_markdown(context: dict[str, Any], template: str = "report.md.j2") -> str:
    """The Markdown report (or another Markdown template) from its context."""
    return environment(True).get_template(template).render(**context)


def write_saved_report(
    saved: SavedRun, output: Path, lang: str = "zh", procedures: Sequence[str] | None = None
) -> list[Path]:
    """Write ``report.html`` and ``report.md`` of a saved run into ``output``, each atomically."""
    context = build_context(saved, lang=lang, procedures=procedures)
    written = []
    for name, body in zip(
        REPORT_FILES, (render_html(context), render_markdown(context)), strict=True
    ):
        path = Path(output) / name
        write_atomically(path, lambda p, body=body: p.write_text(body, encoding="utf-8"))
        written.append(path)
    return written


def write_report(
    result: RunResult,
    output: Path,
    lang: str = "zh",
    contributions: pd.DataFrame | None = None,
    procedures: Sequence[str] | None = None,
    workers: int | None = None,
    progress=None,
) -> list[Path]:
    """Write ``report.html`` and ``report.md`` of a run into the folder ``output``.

    Args:
        result: The run (summary tables are computed if missing).
        output: The folder (created if needed).
        lang: ``zh`` or ``en``: labels, names and text.
        contributions: Reform contributions (`sim.analysis.contributions.reform_contributions`),
            or None to leave that part out.
        procedures: Procedure ids to report on (default: every one run).
        workers: Processes working out the median cases and slow tails side by side
            (default: one a core).
        progress: Called with (done, total) procedures.

    Returns:
        The files written.

    Raises:
        InputError: When ``procedures`` names a procedure the run does not have.
    """
    saved = saved_run(ensure_tables(result), contributions, workers=workers, progress=progress)
    return write_saved_report(saved, Path(output), lang, procedures)
